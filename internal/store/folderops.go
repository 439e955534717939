package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// RenameFolder renames a folder and its subfolders (A -> B renames A.x to
// B.x), keeping their UIDVALIDITY, messages and subscriptions. Renaming
// INBOX moves all its messages into a new folder to and leaves INBOX
// empty; INBOX's subfolders stay (RFC 9051 6.3.6). EventFolders is
// published for every old and new name.
func (s *Store) RenameFolder(ctx context.Context, a Account, from, to string) error {
	from, err := canonName(from)
	if err != nil {
		return err
	}
	if to, err = canonName(to); err != nil {
		return err
	}
	if to == "INBOX" || to == from {
		return fmt.Errorf("store: rename %q to %q: %w", from, to, ErrFolderExists)
	}
	if from != "INBOX" && isChild(to, from) {
		return fmt.Errorf("store: rename %q to %q: %w", from, to, errRenameIntoSelf)
	}
	if err := s.EnsureMailbox(ctx, a.Username, a.Maildir); err != nil {
		return err
	}
	defer s.locks.tree(a.Username)()
	if from == "INBOX" {
		return s.renameInbox(ctx, a, to)
	}
	names, err := folderNames(ctx, s.db.Read, a.Username)
	if err != nil {
		return fmt.Errorf("store: rename %q of %s: %w", from, a.Username, err)
	}
	exists := map[string]bool{}
	for _, n := range names {
		exists[n] = true
	}
	if !exists[from] {
		return fmt.Errorf("store: rename %q of %s: %w", from, a.Username, ErrNoFolder)
	}
	root := s.MailboxPath(a.Maildir)
	type move struct{ old, new string }
	var moves []move
	for _, n := range names {
		if n != from && !isChild(n, from) {
			continue
		}
		m := move{n, to + n[len(from):]}
		if exists[m.new] {
			return fmt.Errorf("store: rename %q to %q: %w", n, m.new, ErrFolderExists)
		}
		if _, err := os.Stat(folderDir(root, m.new)); err == nil {
			return fmt.Errorf("store: rename %q to %q: directory %s is in the way: %w", n, m.new, folderDir(root, m.new), ErrFolderExists)
		}
		moves = append(moves, m)
	}
	// The index and a journal of directory renames commit together; the
	// directories are renamed after, and Recover finishes the journal if
	// a crash comes in between.
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		for _, m := range moves {
			if _, err := tx.ExecContext(ctx, `UPDATE mail_folder SET name=? WHERE username=? AND name=?`, m.new, a.Username, m.old); err != nil {
				return err
			}
			src, dst := "."+m.old, "."+m.new
			if _, err := tx.ExecContext(ctx, `DELETE FROM mail_folder_rename WHERE username=? AND src=?`, a.Username, src); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO mail_folder_rename(username, src, dst) VALUES (?,?,?)`, a.Username, src, dst); err != nil {
				return err
			}
			if err := s.noteChange(ctx, tx, a.Username, m.old, EventFolders, 0); err != nil {
				return err
			}
			if err := s.noteChange(ctx, tx, a.Username, m.new, EventFolders, 0); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: rename %q to %q of %s: %w", from, to, a.Username, err)
	}
	if err := s.finishRenames(ctx, a); err != nil {
		return err
	}
	for _, m := range moves {
		s.publish(Event{Username: a.Username, Folder: m.old, Kind: EventFolders})
		s.publish(Event{Username: a.Username, Folder: m.new, Kind: EventFolders})
	}
	return nil
}

// finishRenames carries out the directory renames journaled for a's
// mailbox and clears the journal.
func (s *Store) finishRenames(ctx context.Context, a Account) error {
	rows, err := s.db.Read.QueryContext(ctx, `SELECT src, dst FROM mail_folder_rename WHERE username=?`, a.Username)
	if err != nil {
		return fmt.Errorf("store: renames of %s: %w", a.Username, err)
	}
	var pending [][2]string
	for rows.Next() {
		var p [2]string
		if err := rows.Scan(&p[0], &p[1]); err != nil {
			rows.Close()
			return fmt.Errorf("store: renames of %s: %w", a.Username, err)
		}
		pending = append(pending, p)
	}
	rows.Close()
	if len(pending) == 0 {
		return nil
	}
	root := s.MailboxPath(a.Maildir)
	for _, p := range pending {
		src, dst := filepath.Join(root, p[0]), filepath.Join(root, p[1])
		if _, err := os.Stat(dst); err == nil {
			if _, err := os.Stat(src); err == nil {
				s.log.Warn("store: folder rename target exists, left both", "src", src, "dst", dst)
			}
			continue
		}
		if err := os.Rename(src, dst); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("store: rename %s: %w", src, err)
		}
	}
	if s.fsync {
		if err := fsyncDir(root); err != nil {
			return fmt.Errorf("store: fsync %s: %w", root, err)
		}
	}
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		for _, p := range pending {
			if _, err := tx.ExecContext(ctx, `DELETE FROM mail_folder_rename WHERE username=? AND src=? AND dst=?`, a.Username, p[0], p[1]); err != nil {
				return fmt.Errorf("store: renames of %s: %w", a.Username, err)
			}
		}
		return nil
	})
}

// renameInbox moves every message of INBOX into a new folder to, keeping
// their UIDs (to gets a new UIDVALIDITY); INBOX records them as expunged.
func (s *Store) renameInbox(ctx context.Context, a Account, to string) error {
	root := s.MailboxPath(a.Maildir)
	if _, err := folderID(ctx, s.db.Read, a.Username, to); err == nil {
		return fmt.Errorf("store: rename INBOX to %q: %w", to, ErrFolderExists)
	}
	if _, err := os.Stat(folderDir(root, to)); err == nil {
		return fmt.Errorf("store: rename INBOX to %q: directory %s is in the way: %w", to, folderDir(root, to), ErrFolderExists)
	}
	if err := s.makeFolderDir(root, to); err != nil {
		return fmt.Errorf("store: rename INBOX to %q: %w", to, err)
	}
	var msgs []Msg
	var top int64
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		var inbox, uidnext, hms, sub, recent int64
		if err := tx.QueryRowContext(ctx, `SELECT id, uidnext, highestmodseq, subscribed, recent_uid FROM mail_folder WHERE username=? AND name='INBOX'`,
			a.Username).Scan(&inbox, &uidnext, &hms, &sub, &recent); err != nil {
			return err
		}
		var err error
		if msgs, err = selectUIDs(ctx, tx, inbox, nil, true); err != nil {
			return err
		}
		uv, err := allocUIDValidity(ctx, tx, a.Username)
		if err != nil {
			return err
		}
		var id int64
		if err := tx.QueryRowContext(ctx, `INSERT INTO mail_folder(username, name, uidvalidity, uidnext, highestmodseq, special_use, subscribed, recent_uid)
			VALUES (?,?,?,?,?,'',?,?) RETURNING id`, a.Username, to, uv, uidnext, hms, sub, recent).Scan(&id); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE mail_message SET folder_id=? WHERE folder_id=?`, id, inbox); err != nil {
			return err
		}
		if err := s.noteChange(ctx, tx, a.Username, to, EventFolders, 0); err != nil {
			return err
		}
		if len(msgs) == 0 {
			return nil
		}
		first, err := bumpModSeq(ctx, tx, inbox, len(msgs))
		if err != nil {
			return err
		}
		for i, m := range msgs {
			if _, err := tx.ExecContext(ctx, `INSERT INTO mail_expunged(folder_id, uid, modseq) VALUES (?,?,?)`, inbox, m.UID, first+int64(i)); err != nil {
				return err
			}
		}
		top = first + int64(len(msgs)) - 1
		return s.noteChange(ctx, tx, a.Username, "INBOX", EventExpunged, top)
	})
	if err != nil {
		return fmt.Errorf("store: rename INBOX to %q of %s: %w", to, a.Username, err)
	}
	// After the commit: a crash before the files moved leaves rows of to
	// without files and files of INBOX without rows; Recover turns that
	// back into messages of INBOX, losing nothing.
	dir := folderDir(root, to)
	uids := make([]int64, len(msgs))
	for i, m := range msgs {
		uids[i] = m.UID
		if err := os.Rename(filepath.Join(root, m.File), filepath.Join(dir, m.File)); err != nil {
			if rel := findFile(root, baseName(m.File), ""); rel == "" || os.Rename(filepath.Join(root, rel), filepath.Join(dir, m.File)) != nil {
				s.log.Warn("store: move file of renamed INBOX", "file", m.File, "err", err)
			}
		}
	}
	if err := s.syncDirs(dir, "new/x", "cur/x"); err != nil {
		return fmt.Errorf("store: rename INBOX to %q of %s: %w", to, a.Username, err)
	}
	if err := s.syncDirs(root, "new/x", "cur/x"); err != nil {
		return fmt.Errorf("store: rename INBOX to %q of %s: %w", to, a.Username, err)
	}
	if len(uids) > 0 {
		s.publish(Event{Username: a.Username, Folder: "INBOX", Kind: EventExpunged, UIDs: uids, ModSeq: top})
	}
	s.publish(Event{Username: a.Username, Folder: to, Kind: EventFolders})
	return nil
}

// DeleteFolder removes a folder that has no subfolders: its index rows,
// its quota usage and its directory. INBOX cannot be deleted.
func (s *Store) DeleteFolder(ctx context.Context, a Account, name string) error {
	name, err := canonName(name)
	if err != nil {
		return err
	}
	if name == "INBOX" {
		return fmt.Errorf("store: delete: %w", ErrCannotDelete)
	}
	defer s.locks.tree(a.Username)()
	names, err := folderNames(ctx, s.db.Read, a.Username)
	if err != nil {
		return fmt.Errorf("store: delete %q of %s: %w", name, a.Username, err)
	}
	found := false
	for _, n := range names {
		if isChild(n, name) {
			return fmt.Errorf("store: delete %q of %s: %w", name, a.Username, ErrHasChildren)
		}
		found = found || n == name
	}
	if !found {
		return fmt.Errorf("store: delete %q of %s: %w", name, a.Username, ErrNoFolder)
	}
	// Move the directory out of the Maildir++ tree first, so that a crash
	// cannot leave it to be adopted by a later folder of the same name.
	root := s.MailboxPath(a.Maildir)
	dir := folderDir(root, name)
	gone := filepath.Join(root, "tmp", "deleted."+s.uniqueName(time.Now()))
	moved := os.Rename(dir, gone) == nil
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		id, err := folderID(ctx, tx, a.Username, name)
		if err != nil {
			return err
		}
		var n, size int64
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*), CAST(COALESCE(SUM(size), 0) AS BIGINT) FROM mail_message WHERE folder_id=?`, id).Scan(&n, &size); err != nil {
			return err
		}
		// RFC 3501 6.3.4: DELETE leaves the subscription alone.
		if err := keepSubscription(ctx, tx, a.Username, name, id); err != nil {
			return err
		}
		for _, q := range []string{`DELETE FROM mail_message WHERE folder_id=?`, `DELETE FROM mail_expunged WHERE folder_id=?`,
			`DELETE FROM mail_acl WHERE folder_id=?`, `DELETE FROM imap_metadata WHERE folder_id=?`, `DELETE FROM mail_folder WHERE id=?`} {
			if _, err := tx.ExecContext(ctx, q, id); err != nil {
				return err
			}
		}
		if err := subtractQuota(ctx, tx, a.Username, size, n); err != nil {
			return err
		}
		return s.noteChange(ctx, tx, a.Username, name, EventFolders, 0)
	})
	if err != nil {
		if moved {
			os.Rename(gone, dir)
		}
		return fmt.Errorf("store: delete %q of %s: %w", name, a.Username, err)
	}
	if moved {
		if err := os.RemoveAll(gone); err != nil {
			s.log.Warn("store: remove deleted folder", "dir", gone, "err", err)
		}
	}
	s.publish(Event{Username: a.Username, Folder: name, Kind: EventFolders})
	return nil
}

// subtractQuota lowers the quota usage of username, never below zero.
func subtractQuota(ctx context.Context, tx *sql.Tx, username string, bytes, messages int64) error {
	if bytes == 0 && messages == 0 {
		return nil
	}
	_, err := tx.ExecContext(ctx, `UPDATE quota2 SET
		bytes = CASE WHEN bytes > ? THEN bytes - ? ELSE 0 END,
		messages = CASE WHEN messages > ? THEN messages - ? ELSE 0 END
		WHERE username=?`, bytes, bytes, messages, messages, username)
	return err
}
