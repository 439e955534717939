package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"time"

	"mailwarden/internal/imapmsg"
)

// Msg is one message of a folder as the index knows it.
type Msg struct {
	UID, ModSeq, Size int64
	InternalDate      time.Time
	// SaveDate is when the message was saved into its folder (RFC
	// 8514), read by MessagesWith with PartSaveDate; zero when unknown.
	SaveDate time.Time
	Flags    []string // system flags and keywords, e.g. `\Seen`, `$Junk`, sorted
	File     string   // relative to the folder directory, e.g. "cur/<base>:2,S"
	// Cache is the message's header cache, read by MessagesWithCache
	// only: nil when the index has none (see cache.go).
	Cache *imapmsg.Cache
	// EmailID is the message's EMAILID (RFC 8474 5.1), read by
	// MessagesWith with PartEmailID.
	EmailID string
}

// FlagOp is how StoreFlags combines the given flags with a message's.
type FlagOp int

const (
	FlagsSet    FlagOp = iota // replace (STORE FLAGS)
	FlagsAdd                  // add (STORE +FLAGS)
	FlagsRemove               // remove (STORE -FLAGS)
)

const msgColumns = `uid, modseq, size, internal_date, flags, filename`

func scanMsgs(rows *sql.Rows) ([]Msg, error) {
	defer rows.Close()
	var out []Msg
	for rows.Next() {
		var m Msg
		var date int64
		var flags string
		if err := rows.Scan(&m.UID, &m.ModSeq, &m.Size, &date, &flags, &m.File); err != nil {
			return nil, err
		}
		m.InternalDate = time.Unix(date, 0)
		m.Flags = splitFlags(flags)
		out = append(out, m)
	}
	return out, rows.Err()
}

// selectUIDs returns the messages of a folder whose UID is in uids (all of
// them when all is set), sorted by UID. It reads the UID range and filters
// here, so that a long UID set needs no long SQL.
func selectUIDs(ctx context.Context, q querier, folderID int64, uids []int64, all bool) ([]Msg, error) {
	if all {
		rows, err := q.QueryContext(ctx, `SELECT `+msgColumns+` FROM mail_message WHERE folder_id=? ORDER BY uid`, folderID)
		if err != nil {
			return nil, err
		}
		return scanMsgs(rows)
	}
	if len(uids) == 0 {
		return nil, nil
	}
	want := make(map[int64]bool, len(uids))
	lo, hi := uids[0], uids[0]
	for _, u := range uids {
		want[u] = true
		lo, hi = min(lo, u), max(hi, u)
	}
	rows, err := q.QueryContext(ctx, `SELECT `+msgColumns+` FROM mail_message WHERE folder_id=? AND uid BETWEEN ? AND ? ORDER BY uid`, folderID, lo, hi)
	if err != nil {
		return nil, err
	}
	ms, err := scanMsgs(rows)
	out := ms[:0]
	for _, m := range ms {
		if want[m.UID] {
			out = append(out, m)
		}
	}
	return out, err
}

// readTx runs fn in one read transaction, so that what it reads is one
// consistent snapshot.
func (s *Store) readTx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := s.db.Read.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	return fn(tx)
}

// Messages returns all messages of a folder sorted by UID and the folder's
// state, read in one transaction.
func (s *Store) Messages(ctx context.Context, a Account, folder string) ([]Msg, FolderInfo, error) {
	var msgs []Msg
	fi, err := s.readFolder(ctx, a, folder, func(tx *sql.Tx, id int64, fi *FolderInfo) error {
		var err error
		msgs, err = selectUIDs(ctx, tx, id, nil, true)
		if err == nil && a.private() {
			err = overlayPvt(ctx, tx, id, a.Viewer, msgs)
		}
		for _, m := range msgs {
			fi.count(m)
		}
		return err
	})
	if err != nil {
		return nil, FolderInfo{}, err
	}
	return msgs, fi, nil
}

// readFolder runs fn in one read transaction on the selected folder's
// row (folder name checked, the mailbox made if it is new).
func (s *Store) readFolder(ctx context.Context, a Account, folder string, fn func(tx *sql.Tx, id int64, fi *FolderInfo) error) (FolderInfo, error) {
	folder, err := canonName(folder)
	if err != nil {
		return FolderInfo{}, err
	}
	if err := s.EnsureMailbox(ctx, a.Username, a.Maildir); err != nil {
		return FolderInfo{}, err
	}
	var fi FolderInfo
	err = s.readTx(ctx, func(tx *sql.Tx) error {
		id, err := folderRow(ctx, tx, a.Username, folder, &fi)
		if err != nil {
			return err
		}
		return fn(tx, id, &fi)
	})
	if err != nil {
		return FolderInfo{}, fmt.Errorf("store: messages of %q of %s: %w", folder, a.Username, err)
	}
	return fi, nil
}

// count adds m to the folder's totals.
func (fi *FolderInfo) count(m Msg) {
	fi.Messages++
	fi.Size += m.Size
	if m.UID >= fi.RecentUID {
		fi.Recent++
	}
	if !hasFlag(m.Flags, `\Seen`) {
		fi.Unseen++
	}
	if hasFlag(m.Flags, `\Deleted`) {
		fi.Deleted++
	}
}

// folderRow reads a folder's row (not its counts) into fi and returns its id.
func folderRow(ctx context.Context, q querier, username, folder string, fi *FolderInfo) (int64, error) {
	var id, sub int64
	err := q.QueryRowContext(ctx, `SELECT id, name, special_use, subscribed, uidvalidity, uidnext, highestmodseq, recent_uid
		FROM mail_folder WHERE username=? AND name=?`, username, folder).Scan(
		&id, &fi.Name, &fi.SpecialUse, &sub, &fi.UIDValidity, &fi.UIDNext, &fi.HighestModSeq, &fi.RecentUID)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, ErrNoFolder
	}
	fi.Subscribed = sub != 0
	return id, err
}

// View returns what an IMAP session keeps of a folder it selects: each
// message's UID, MODSEQ and flags, sorted by UID (other fields are left
// zero; messages with the same flags share one Flags slice, which must
// not be modified), and the folder's state, read in one transaction. It
// reads fewer columns than Messages and allocates per distinct flag set
// rather than per message: SELECT of a large folder is mostly this.
func (s *Store) View(ctx context.Context, a Account, folder string) ([]Msg, FolderInfo, error) {
	var msgs []Msg
	fi, err := s.readFolder(ctx, a, folder, func(tx *sql.Tx, id int64, fi *FolderInfo) error {
		rows, err := tx.QueryContext(ctx, `SELECT uid, modseq, size, flags FROM mail_message WHERE folder_id=? ORDER BY uid`, id)
		if err != nil {
			return err
		}
		defer rows.Close()
		sets := map[string][]string{}
		for rows.Next() {
			var m Msg
			var flags sql.RawBytes
			if err := rows.Scan(&m.UID, &m.ModSeq, &m.Size, &flags); err != nil {
				return err
			}
			fl, ok := sets[string(flags)]
			if !ok {
				fl = splitFlags(string(flags))
				sets[string(flags)] = fl
			}
			m.Flags = fl
			fi.count(m)
			msgs = append(msgs, m)
		}
		if err := rows.Err(); err != nil || !a.private() {
			return err
		}
		return viewPvt(ctx, tx, id, a.Viewer, msgs, fi)
	})
	if err != nil {
		return nil, FolderInfo{}, err
	}
	return msgs, fi, nil
}

// Changes returns what changed in a folder after MODSEQ since (CONDSTORE
// and QRESYNC, RFC 7162): the messages with a higher MODSEQ, sorted by
// UID, and the UIDs expunged with a higher MODSEQ, sorted; plus the
// folder's state without its counts (Messages, Unseen... are zero; Folder
// has them; a viewer with its own \Seen gets them), all from one
// transaction.
func (s *Store) Changes(ctx context.Context, a Account, folder string, since int64) (changed []Msg, vanished []int64, info FolderInfo, err error) {
	folder, err = canonName(folder)
	if err != nil {
		return nil, nil, FolderInfo{}, err
	}
	err = s.readTx(ctx, func(tx *sql.Tx) error {
		// The folder's row only: counting its messages (folderInfo) would
		// read them all, and sessions call this after every change. A
		// viewer with its own \Seen gets its counts (pvtUnseen needs them).
		var id int64
		var err error
		if a.private() {
			id, info, err = folderInfo(ctx, tx, a.Username, folder)
		} else {
			id, err = folderRow(ctx, tx, a.Username, folder, &info)
		}
		if errors.Is(err, ErrNoFolder) {
			return fmt.Errorf("store: folder %q of %s: %w", folder, a.Username, ErrNoFolder)
		}
		if err != nil {
			return err
		}
		rows, err := changedQuery(ctx, tx, a, id, since)
		if err != nil {
			return err
		}
		if changed, err = scanMsgs(rows); err != nil {
			return err
		}
		if a.private() {
			if err := overlayPvt(ctx, tx, id, a.Viewer, changed); err != nil {
				return err
			}
			if info.Unseen, err = pvtUnseen(ctx, tx, id, a.Viewer, info.Messages); err != nil {
				return err
			}
		}
		rows, err = tx.QueryContext(ctx, `SELECT uid FROM mail_expunged WHERE folder_id=? AND modseq>? ORDER BY uid`, id, since)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var u int64
			if err := rows.Scan(&u); err != nil {
				return err
			}
			vanished = append(vanished, u)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, nil, FolderInfo{}, fmt.Errorf("store: changes of %q of %s: %w", folder, a.Username, err)
	}
	return changed, vanished, info, nil
}

// OpenMessage opens the file of m. When another session renamed it
// meanwhile (its flags changed), it is found by its base name: first
// through the index, then in new/ and cur/.
func (s *Store) OpenMessage(a Account, folder string, m Msg) (*os.File, error) {
	folder, err := canonName(folder)
	if err != nil {
		return nil, err
	}
	dir := folderDir(s.MailboxPath(a.Maildir), folder)
	f, err := os.Open(filepath.Join(dir, m.File))
	if err == nil || !errors.Is(err, os.ErrNotExist) {
		return f, err
	}
	var cur string
	if id, ierr := folderID(context.Background(), s.db.Read, a.Username, folder); ierr == nil {
		s.db.Read.QueryRow(`SELECT filename FROM mail_message WHERE folder_id=? AND uid=?`, id, m.UID).Scan(&cur)
	}
	if rel := findFile(dir, baseName(m.File), cur); rel != "" {
		if f, err := os.Open(filepath.Join(dir, rel)); err == nil {
			return f, nil
		}
	}
	return nil, fmt.Errorf("store: open message %d of %q of %s: %w", m.UID, folder, a.Username, err)
}

// findFile looks for the file with base name base in dir, trying hint
// and new/ first, then listing cur/. It returns the path relative to dir
// or "".
func findFile(dir, base, hint string) string {
	for _, rel := range []string{hint, "new/" + base} {
		if rel != "" {
			if _, err := os.Stat(filepath.Join(dir, rel)); err == nil {
				return rel
			}
		}
	}
	ents, err := os.ReadDir(filepath.Join(dir, "cur"))
	if err != nil {
		return ""
	}
	for _, e := range ents {
		if baseName(e.Name()) == base {
			return "cur/" + e.Name()
		}
	}
	return ""
}

// renameFile renames a message file from one relative path to another,
// finding it by base name if from is stale. Failures are logged: the index
// is the source of truth and readers find files by base name.
func (s *Store) renameFile(dir, from, to string) {
	err := os.Rename(filepath.Join(dir, from), filepath.Join(dir, to))
	if errors.Is(err, os.ErrNotExist) {
		if rel := findFile(dir, baseName(from), ""); rel != "" {
			err = os.Rename(filepath.Join(dir, rel), filepath.Join(dir, to))
		}
	}
	if err != nil {
		s.log.Warn("store: rename message file", "dir", dir, "from", from, "to", to, "err", err)
	}
}

// bumpModSeq reserves n new MODSEQs of a folder and returns the first.
func bumpModSeq(ctx context.Context, tx *sql.Tx, folderID int64, n int) (int64, error) {
	var top int64
	err := tx.QueryRowContext(ctx, `UPDATE mail_folder SET highestmodseq=highestmodseq+? WHERE id=? RETURNING highestmodseq`,
		n, folderID).Scan(&top)
	return top - int64(n) + 1, err
}

// StoreFlags changes the flags of the messages uids of a folder (those that
// exist). With unchangedSince > 0 (CONDSTORE UNCHANGEDSINCE, RFC 7162
// 3.1.3) messages with a higher MODSEQ are left alone and returned in
// failed. Each changed message gets a new MODSEQ and its file is renamed
// into cur/ with its Maildir letters. updated holds every message that was
// not failed, changed or not, with its current state, sorted by UID.
func (s *Store) StoreFlags(ctx context.Context, a Account, folder string, uids []int64, op FlagOp, flags []string, unchangedSince int64) (updated []Msg, failed []int64, err error) {
	return s.StoreFlagsMay(ctx, a, folder, uids, op, flags, unchangedSince, nil)
}

// StoreFlagsMay is StoreFlags for a user who may change only the flags
// for which may returns true (IMAP ACL, RFC 4314 4: \Seen needs "s",
// \Deleted "t", the others "w"): every other flag of a message stays as
// it was, whatever op says. may nil allows every flag.
func (s *Store) StoreFlagsMay(ctx context.Context, a Account, folder string, uids []int64, op FlagOp, flags []string, unchangedSince int64, may func(flag string) bool) (updated []Msg, failed []int64, err error) {
	folder, err = canonName(folder)
	if err != nil {
		return nil, nil, err
	}
	if a.private() {
		return s.storeFlagsPvt(ctx, a, folder, uids, op, flags, unchangedSince, may)
	}
	defer s.locks.folder(a.Username, folder)()
	type rename struct{ from, to string }
	var renames []rename
	var changed []int64
	var top int64
	// Flag changes are committed lazily (sqldb.BatchLazy): on disk within
	// milliseconds, not before the reply, as Dovecot's mail_fsync=optimized
	// leaves them to the kernel.
	err = s.db.BatchLazy(ctx, func(tx *sql.Tx) error {
		updated, failed, renames, changed = nil, nil, nil, nil
		id, err := folderID(ctx, tx, a.Username, folder)
		if err != nil {
			return err
		}
		msgs, err := selectUIDs(ctx, tx, id, uids, false)
		if err != nil {
			return err
		}
		var todo []int // indexes into updated of changed messages
		for _, m := range msgs {
			if unchangedSince > 0 && m.ModSeq > unchangedSince {
				failed = append(failed, m.UID)
				continue
			}
			nf := applyFlags(m.Flags, op, flags)
			if may != nil {
				nf = onlyAllowed(m.Flags, nf, may)
			}
			if !sameFlags(nf, m.Flags) {
				m.Flags = nf
				if to := fileFor(baseName(m.File), nf, true); to != m.File {
					renames = append(renames, rename{m.File, to})
					m.File = to
				}
				todo = append(todo, len(updated))
			}
			updated = append(updated, m)
		}
		if len(todo) == 0 {
			return nil
		}
		first, err := bumpModSeq(ctx, tx, id, len(todo))
		if err != nil {
			return err
		}
		st, err := tx.PrepareContext(ctx, `UPDATE mail_message SET flags=?, modseq=?, filename=? WHERE folder_id=? AND uid=?`)
		if err != nil {
			return err
		}
		defer st.Close()
		for k, i := range todo {
			m := &updated[i]
			m.ModSeq = first + int64(k)
			if _, err := st.ExecContext(ctx, joinFlags(m.Flags), m.ModSeq, m.File, id, m.UID); err != nil {
				return err
			}
			changed = append(changed, m.UID)
			top = m.ModSeq
		}
		return s.noteChange(ctx, tx, a.Username, folder, EventFlags, top)
	})
	if err != nil {
		return nil, nil, fmt.Errorf("store: store flags in %q of %s: %w", folder, a.Username, err)
	}
	dir := folderDir(s.MailboxPath(a.Maildir), folder)
	for _, r := range renames {
		s.renameFile(dir, r.from, r.to)
	}
	if len(changed) > 0 {
		s.publish(Event{Username: a.Username, Folder: folder, Kind: EventFlags, UIDs: changed, ModSeq: top})
	}
	sort.Slice(failed, func(i, j int) bool { return failed[i] < failed[j] })
	return updated, failed, nil
}
