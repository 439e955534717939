package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"slices"
	"time"

	"mailwarden/internal/imapmsg"
)

// checkQuotaTx returns an error wrapping ErrOverQuota when username, whose
// quota is quota bytes (0: unlimited), cannot take add more bytes. It reads
// the usage inside tx, so that concurrent writers cannot both slip in.
func checkQuotaTx(ctx context.Context, tx *sql.Tx, username string, quota, add int64) error {
	if quota <= 0 {
		return nil
	}
	var used int64
	err := tx.QueryRowContext(ctx, `SELECT bytes FROM quota2 WHERE username=?`, username).Scan(&used)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	if used+add > quota {
		return fmt.Errorf("%s: %d of %d bytes used, %d more: %w", username, used, quota, add, ErrOverQuota)
	}
	return nil
}

// syncDirs fsyncs (with group commit) the new/ and cur/ directories that
// the relative paths rels are in.
func (s *Store) syncDirs(dir string, rels ...string) error {
	if !s.fsync {
		return nil
	}
	done := map[string]bool{}
	for _, rel := range rels {
		sub := path.Dir(rel)
		if done[sub] {
			continue
		}
		done[sub] = true
		if err := s.dirs.sync(filepath.Join(dir, filepath.FromSlash(sub))); err != nil {
			return err
		}
	}
	return nil
}

// Append stores a new message in a folder (IMAP APPEND): the file is made
// durable like Deliver's, in cur/ with its Maildir letters when it has
// flags, with date as its internal date and mtime (now when zero). quota
// is the mailbox's quota in bytes (0: unlimited).
func (s *Store) Append(ctx context.Context, a Account, folder string, flags []string, date time.Time, body Body, quota int64) (uid, validity int64, err error) {
	uids, validity, err := s.AppendMany(ctx, a, folder, []AppendItem{{Flags: flags, Date: date, Body: body}}, quota)
	if err != nil {
		return 0, 0, err
	}
	return uids[0], validity, nil
}

// AppendItem is one message of AppendMany.
type AppendItem struct {
	Flags []string
	Date  time.Time // zero: now
	Body  Body
}

// AppendMany stores messages in a folder all or none (IMAP MULTIAPPEND,
// RFC 3502): every file is made durable first, then all are indexed in
// one transaction, so a failure leaves none of them. The UIDs are
// returned in the order of items.
func (s *Store) AppendMany(ctx context.Context, a Account, folder string, items []AppendItem, quota int64) (uids []int64, validity int64, err error) {
	folder, err = canonName(folder)
	if err != nil {
		return nil, 0, err
	}
	if err := s.EnsureMailbox(ctx, a.Username, a.Maildir); err != nil {
		return nil, 0, err
	}
	if _, err := folderID(ctx, s.db.Read, a.Username, folder); err != nil {
		return nil, 0, err
	}
	var total int64
	for _, it := range items {
		total += it.Body.Size()
	}
	if err := s.CheckQuota(ctx, a.Username, quota, total); err != nil {
		return nil, 0, fmt.Errorf("store: append to %q: %w", folder, err)
	}
	type written struct {
		rel        string
		size, date int64
		flags      string
		cache      *imapmsg.Cache
		seen       bool // the viewer's private \Seen (pvtflags.go)
	}
	dir := folderDir(s.MailboxPath(a.Maildir), folder)
	var files []written
	defer func() {
		if err != nil {
			for _, f := range files {
				os.Remove(filepath.Join(dir, f.rel))
			}
		}
	}()
	now := time.Now()
	var rels []string
	for _, it := range items {
		date := it.Date
		if date.IsZero() {
			date = now
		}
		flags, seen := a.splitSeen(normFlags(it.Flags))
		tap := &headerTap{}
		body := it.Body
		rel, size, werr := s.writeFile(dir, s.uniqueName(now), tap, func(w io.Writer) error {
			_, err := io.Copy(w, body.Reader())
			return err
		}, flags, date)
		if werr != nil {
			err = werr
			return nil, 0, fmt.Errorf("store: append to %q of %s: %w", folder, a.Username, err)
		}
		files = append(files, written{rel, size, date.Unix(), joinFlags(flags), tap.cache(size), seen})
		rels = append(rels, rel)
	}
	var modseq int64
	err = s.syncDirs(dir, rels...)
	if err == nil {
		err = s.db.Batch(ctx, func(tx *sql.Tx) error {
			uids = uids[:0]
			var sum int64
			for _, f := range files {
				sum += f.size
			}
			if err := checkQuotaTx(ctx, tx, a.Username, quota, sum); err != nil {
				return err
			}
			for _, f := range files {
				var uid int64
				var err error
				uid, modseq, validity, err = s.insertMessage(ctx, tx, a.Username, folder, f.rel, f.size, f.date, f.flags, f.cache)
				if err != nil {
					return err
				}
				if f.seen {
					if err := markNew(ctx, tx, a, folder, uid, modseq); err != nil {
						return err
					}
				}
				uids = append(uids, uid)
			}
			return s.noteChange(ctx, tx, a.Username, folder, EventAdded, modseq)
		})
	}
	if err != nil {
		return nil, 0, fmt.Errorf("store: append to %q of %s: %w", folder, a.Username, err)
	}
	s.publish(Event{Username: a.Username, Folder: folder, Kind: EventAdded, UIDs: slices.Clone(uids), ModSeq: modseq})
	return uids, validity, nil
}

// expungeRows removes msgs from the index of a folder, records each UID
// with a new MODSEQ for QRESYNC and lowers the quota usage. It returns the
// folder's new HIGHESTMODSEQ.
func expungeRows(ctx context.Context, tx *sql.Tx, username string, folderID int64, msgs []Msg) (int64, error) {
	if len(msgs) == 0 {
		return 0, nil
	}
	first, err := bumpModSeq(ctx, tx, folderID, len(msgs))
	if err != nil {
		return 0, err
	}
	del, err := tx.PrepareContext(ctx, `DELETE FROM mail_message WHERE folder_id=? AND uid=?`)
	if err != nil {
		return 0, err
	}
	defer del.Close()
	rec, err := tx.PrepareContext(ctx, `INSERT INTO mail_expunged(folder_id, uid, modseq) VALUES (?,?,?)`)
	if err != nil {
		return 0, err
	}
	defer rec.Close()
	var size int64
	for i, m := range msgs {
		res, err := del.ExecContext(ctx, folderID, m.UID)
		if err != nil {
			return 0, err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return 0, fmt.Errorf("message %d vanished during expunge", m.UID)
		}
		if _, err := rec.ExecContext(ctx, folderID, m.UID, first+int64(i)); err != nil {
			return 0, err
		}
		size += m.Size
	}
	return first + int64(len(msgs)) - 1, subtractQuota(ctx, tx, username, size, int64(len(msgs)))
}

// Expunge removes the messages uids of a folder, or with uids nil every
// message flagged \Deleted (UID EXPUNGE must pass only \Deleted ones). The
// files are unlinked, the quota usage lowered, and each UID recorded with
// a new MODSEQ for QRESYNC VANISHED. It returns the expunged UIDs, sorted.
func (s *Store) Expunge(ctx context.Context, a Account, folder string, uids []int64) ([]int64, error) {
	folder, err := canonName(folder)
	if err != nil {
		return nil, err
	}
	defer s.locks.folder(a.Username, folder)()
	id, err := folderID(ctx, s.db.Read, a.Username, folder)
	if err != nil {
		return nil, err
	}
	var msgs []Msg
	if uids == nil {
		// Only the \Deleted rows, chosen by SQL: a folder is mostly
		// other messages (the pattern is folderQuery's; the filter
		// below keeps the answer exact).
		var rows *sql.Rows
		rows, err = s.db.Read.QueryContext(ctx, `SELECT `+msgColumns+` FROM mail_message WHERE folder_id=? AND flags LIKE ? ESCAPE '|' ORDER BY uid`,
			id, flagPattern(`\Deleted`))
		if err == nil {
			msgs, err = scanMsgs(rows)
		}
	} else {
		msgs, err = selectUIDs(ctx, s.db.Read, id, uids, false)
	}
	if err != nil {
		return nil, fmt.Errorf("store: expunge in %q of %s: %w", folder, a.Username, err)
	}
	if uids == nil {
		kept := msgs[:0]
		for _, m := range msgs {
			if hasFlag(m.Flags, `\Deleted`) {
				kept = append(kept, m)
			}
		}
		msgs = kept
	}
	if len(msgs) == 0 {
		return nil, nil
	}
	// Move the files out of new/ and cur/ before the commit and unlink them
	// after: a crash in between leaves rows without files, which Recover
	// expunges, never an expunged message that comes back.
	dir := folderDir(s.MailboxPath(a.Maildir), folder)
	gone := make([]string, len(msgs))
	for i, m := range msgs {
		gone[i] = filepath.Join(dir, "tmp", "expunged."+baseName(m.File))
		if err := os.Rename(filepath.Join(dir, m.File), gone[i]); err != nil {
			if rel := findFile(dir, baseName(m.File), ""); rel == "" || os.Rename(filepath.Join(dir, rel), gone[i]) != nil {
				gone[i] = ""
			}
		}
	}
	var top int64
	// Lazily committed, as flag changes are: a crash within milliseconds
	// of the reply leaves rows whose files are gone, which Recover
	// expunges, or files still in place with their rows (the message
	// stays). Dovecot's mail_fsync=optimized does not sync expunges either.
	err = s.db.BatchLazy(ctx, func(tx *sql.Tx) error {
		var err error
		if top, err = expungeRows(ctx, tx, a.Username, id, msgs); err != nil {
			return err
		}
		return s.noteChange(ctx, tx, a.Username, folder, EventExpunged, top)
	})
	if err != nil {
		for i, g := range gone {
			if g != "" {
				os.Rename(g, filepath.Join(dir, msgs[i].File))
			}
		}
		return nil, fmt.Errorf("store: expunge in %q of %s: %w", folder, a.Username, err)
	}
	out := make([]int64, len(msgs))
	for i, m := range msgs {
		out[i] = m.UID
		if gone[i] != "" {
			os.Remove(gone[i])
		}
	}
	s.publish(Event{Username: a.Username, Folder: folder, Kind: EventExpunged, UIDs: out, ModSeq: top})
	return out, nil
}
