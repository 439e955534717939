package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// transfer is what Copy and Move share: both folders resolved and the
// source messages read, under the source folder's lock.
type transfer struct {
	from, to       string
	fromDir, toDir string
	fromID         int64
	msgs           []Msg
	rels           []string // new paths in toDir, parallel to msgs
	seen           []bool   // the target viewer's private \Seen, parallel to msgs
}

// prepareTransfer resolves the folders and reads the messages uids of the
// source, in UID order. The caller holds the source folder's lock.
func (s *Store) prepareTransfer(ctx context.Context, a Account, from string, b Account, to string, uids []int64, may func(string) bool) (*transfer, error) {
	var t transfer
	var err error
	if t.from, err = canonName(from); err != nil {
		return nil, err
	}
	if t.to, err = canonName(to); err != nil {
		return nil, err
	}
	if t.fromID, err = folderID(ctx, s.db.Read, a.Username, t.from); err != nil {
		return nil, err
	}
	if _, err = folderID(ctx, s.db.Read, b.Username, t.to); err != nil {
		return nil, err // ErrNoFolder: IMAP answers [TRYCREATE]
	}
	if t.msgs, err = selectUIDs(ctx, s.db.Read, t.fromID, uids, false); err != nil {
		return nil, fmt.Errorf("store: read %q of %s: %w", t.from, a.Username, err)
	}
	// RFC 8474 5.1: copies and moved messages keep their EMAILID.
	if err = s.fillEmailIDs(ctx, t.fromID, t.msgs); err != nil {
		return nil, fmt.Errorf("store: read %q of %s: %w", t.from, a.Username, err)
	}
	if a.private() {
		if err := overlayPvt(ctx, s.db.Read, t.fromID, a.Viewer, t.msgs); err != nil {
			return nil, fmt.Errorf("store: read %q of %s: %w", t.from, a.Username, err)
		}
	}
	t.seen = make([]bool, len(t.msgs))
	for i := range t.msgs {
		if may != nil {
			t.msgs[i].Flags = slices.DeleteFunc(slices.Clone(t.msgs[i].Flags), func(f string) bool { return !may(f) })
		}
		t.msgs[i].Flags, t.seen[i] = b.splitSeen(t.msgs[i].Flags)
	}
	t.fromDir, t.toDir = folderDir(s.MailboxPath(a.Maildir), t.from), folderDir(s.MailboxPath(b.Maildir), t.to)
	now := time.Now()
	t.rels = make([]string, len(t.msgs))
	for i, m := range t.msgs {
		t.rels[i] = fileFor(sizedName(s.uniqueName(now), m.Size), m.Flags, false)
	}
	return &t, nil
}

// source returns the current path of message i's file in the source folder.
func (t *transfer) source(i int) string {
	p := filepath.Join(t.fromDir, t.msgs[i].File)
	if _, err := os.Lstat(p); err != nil {
		if rel := findFile(t.fromDir, baseName(t.msgs[i].File), ""); rel != "" {
			return filepath.Join(t.fromDir, rel)
		}
	}
	return p
}

// insertAll adds the transferred messages to the target folder, with
// their flags, internal dates and header caches, and returns the new
// UIDs. For a move, it runs before the sources are expunged, whose cache
// rows go with them.
func (t *transfer) insertAll(ctx context.Context, s *Store, tx *sql.Tx, b Account) (validity int64, dst []int64, top int64, err error) {
	username := b.Username
	toID, err := folderID(ctx, tx, username, t.to)
	if err != nil {
		return 0, nil, 0, err
	}
	dst = make([]int64, len(t.msgs))
	for i, m := range t.msgs {
		dst[i], top, validity, err = s.insertMessageAs(ctx, tx, username, t.to, t.rels[i], m.Size, m.InternalDate.Unix(), joinFlags(m.Flags), nil, m.EmailID)
		if err != nil {
			return 0, nil, 0, err
		}
		if err := copyCache(ctx, tx, t.fromID, m.UID, toID, dst[i]); err != nil {
			return 0, nil, 0, err
		}
		if t.seen[i] {
			if err := setPvtSeen(ctx, tx, toID, dst[i], b.Viewer, true, top); err != nil {
				return 0, nil, 0, err
			}
		}
	}
	return validity, dst, top, nil
}

func (t *transfer) srcUIDs() []int64 {
	out := make([]int64, len(t.msgs))
	for i, m := range t.msgs {
		out[i] = m.UID
	}
	return out
}

// validity returns the UIDVALIDITY of a folder.
func (s *Store) validity(ctx context.Context, username, folder string) (int64, error) {
	var v int64
	err := s.db.Read.QueryRowContext(ctx, `SELECT uidvalidity FROM mail_folder WHERE username=? AND name=?`, username, folder).Scan(&v)
	return v, err
}

// Copy copies the messages uids of folder from into folder to (IMAP
// COPY): each file is hard-linked (copied where links fail) under a new
// name, with the same flags and internal date and a new UID. quota is the
// mailbox's quota in bytes (0: unlimited); a copy that does not fit fails
// with an error wrapping ErrOverQuota. It returns to's UIDVALIDITY and
// the UID pairs in source UID order (UIDPLUS COPYUID, RFC 4315).
func (s *Store) Copy(ctx context.Context, a Account, from, to string, uids []int64, quota int64) (validity int64, src, dst []int64, err error) {
	return s.CopyTo(ctx, a, from, a, to, uids, quota, nil)
}

// CopyTo is Copy into a folder of another mailbox b (a folder shared with
// a's user, or the other way round); quota is b's. With may set, the
// copies keep only the flags may allows (the user's rights on the
// target, RFC 4314 4).
func (s *Store) CopyTo(ctx context.Context, a Account, from string, b Account, to string, uids []int64, quota int64, may func(flag string) bool) (validity int64, src, dst []int64, err error) {
	defer s.locks.transfer(a.Username, mustCanon(from), b.Username)()
	t, err := s.prepareTransfer(ctx, a, from, b, to, uids, may)
	if err != nil {
		return 0, nil, nil, err
	}
	if len(t.msgs) == 0 {
		validity, err = s.validity(ctx, b.Username, t.to)
		return validity, nil, nil, err
	}
	var size int64
	for _, m := range t.msgs {
		size += m.Size
	}
	if err := s.CheckQuota(ctx, b.Username, quota, size); err != nil {
		return 0, nil, nil, fmt.Errorf("store: copy to %q: %w", t.to, err)
	}
	var made []string
	cleanup := func() {
		for _, p := range made {
			os.Remove(p)
		}
	}
	for i := range t.msgs {
		p := filepath.Join(t.toDir, t.rels[i])
		if err := s.linkOrCopy(t.source(i), p); err != nil {
			cleanup()
			return 0, nil, nil, fmt.Errorf("store: copy message %d to %q of %s: %w", t.msgs[i].UID, t.to, b.Username, err)
		}
		made = append(made, p)
	}
	var top int64
	err = s.syncDirs(t.toDir, t.rels...)
	if err == nil {
		err = s.db.Batch(ctx, func(tx *sql.Tx) error {
			if err := checkQuotaTx(ctx, tx, b.Username, quota, size); err != nil {
				return err
			}
			var err error
			if validity, dst, top, err = t.insertAll(ctx, s, tx, b); err != nil {
				return err
			}
			return s.noteChange(ctx, tx, b.Username, t.to, EventAdded, top)
		})
	}
	if err != nil {
		cleanup()
		return 0, nil, nil, fmt.Errorf("store: copy to %q of %s: %w", t.to, b.Username, err)
	}
	src = t.srcUIDs()
	s.publish(Event{Username: b.Username, Folder: t.to, Kind: EventAdded, UIDs: dst, ModSeq: top})
	return validity, src, dst, nil
}

// Move moves the messages uids of folder from into folder to (IMAP MOVE,
// RFC 6851): the files are renamed into to and the sources expunged in
// the same transaction; the quota usage does not change.
func (s *Store) Move(ctx context.Context, a Account, from, to string, uids []int64) (validity int64, src, dst []int64, err error) {
	return s.MoveTo(ctx, a, from, a, to, uids, 0, nil)
}

// MoveTo is Move into a folder of another mailbox b; the messages then
// count against b's quota (quota, 0: unlimited) instead of a's. may is
// as for CopyTo.
func (s *Store) MoveTo(ctx context.Context, a Account, from string, b Account, to string, uids []int64, quota int64, may func(flag string) bool) (validity int64, src, dst []int64, err error) {
	defer s.locks.transfer(a.Username, mustCanon(from), b.Username)()
	t, err := s.prepareTransfer(ctx, a, from, b, to, uids, may)
	if err != nil {
		return 0, nil, nil, err
	}
	if len(t.msgs) == 0 {
		validity, err = s.validity(ctx, b.Username, t.to)
		return validity, nil, nil, err
	}
	type moved struct{ from, to string }
	var done []moved
	undo := func() {
		for _, m := range done {
			os.Rename(m.to, m.from)
		}
	}
	for i := range t.msgs {
		m := moved{t.source(i), filepath.Join(t.toDir, t.rels[i])}
		if err := os.Rename(m.from, m.to); err != nil {
			undo()
			return 0, nil, nil, fmt.Errorf("store: move message %d to %q of %s: %w", t.msgs[i].UID, t.to, b.Username, err)
		}
		done = append(done, m)
	}
	var srcTop, dstTop, size int64
	for _, m := range t.msgs {
		size += m.Size
	}
	cross := a.Username != b.Username
	err = s.syncDirs(t.toDir, t.rels...)
	if err == nil {
		err = s.syncDirs(t.fromDir, "new/x", "cur/x")
	}
	if err == nil {
		err = s.db.Batch(ctx, func(tx *sql.Tx) error {
			if cross {
				if err := checkQuotaTx(ctx, tx, b.Username, quota, size); err != nil {
					return err
				}
			}
			var err error
			if validity, dst, dstTop, err = t.insertAll(ctx, s, tx, b); err != nil {
				return err
			}
			if srcTop, err = expungeRows(ctx, tx, a.Username, t.fromID, t.msgs); err != nil {
				return err
			}
			if err := s.noteChange(ctx, tx, a.Username, t.from, EventExpunged, srcTop); err != nil {
				return err
			}
			return s.noteChange(ctx, tx, b.Username, t.to, EventAdded, dstTop)
		})
	}
	if err != nil {
		undo()
		return 0, nil, nil, fmt.Errorf("store: move to %q of %s: %w", t.to, b.Username, err)
	}
	src = t.srcUIDs()
	s.publish(Event{Username: a.Username, Folder: t.from, Kind: EventExpunged, UIDs: src, ModSeq: srcTop})
	s.publish(Event{Username: b.Username, Folder: t.to, Kind: EventAdded, UIDs: dst, ModSeq: dstTop})
	return validity, src, dst, nil
}

// mustCanon is canonName for locking; an invalid name locks a key that no
// valid operation uses and fails later in canonName.
func mustCanon(name string) string {
	if c, err := canonName(name); err == nil {
		return c
	}
	return name
}

// linkOrCopy hard-links src to dst, or copies it durably (keeping its
// mtime, the internal date) where the file system refuses links.
func (s *Store) linkOrCopy(src, dst string) error {
	err := os.Link(src, dst)
	if err == nil || errors.Is(err, os.ErrNotExist) || errors.Is(err, os.ErrExist) {
		return err
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	info, err := in.Stat()
	if err != nil {
		return err
	}
	// Through tmp/, so that a crash never leaves half a copy in new/ or cur/.
	tmp := filepath.Join(filepath.Dir(filepath.Dir(dst)), "tmp", filepath.Base(dst))
	out, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	_, err = io.Copy(out, in)
	if err == nil {
		err = os.Chtimes(tmp, info.ModTime(), info.ModTime())
	}
	if err == nil && s.fsync {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, dst)
	}
	if err != nil {
		os.Remove(tmp)
	}
	return err
}
