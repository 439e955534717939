package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// METADATA (RFC 5464): entries on folders and on the server, in
// imap_metadata and imap_server_metadata (migration 0017). A /shared
// entry is one value for everyone (stored with username ""); a /private
// entry is one per user. Folder entries follow their folder through
// RenameFolder (they name it by id) and go with it in DeleteFolder.

// MetaEntry is one METADATA entry: a lower-case name below /private or
// /shared and its value. In SetMetadata, Remove deletes the entry.
type MetaEntry struct {
	Name   string
	Value  []byte
	Remove bool
}

// ErrMetaTooMany: the change would leave a user with more entries than
// allowed (IMAP answers [METADATA TOOMANY], RFC 5464 4.3).
var ErrMetaTooMany = errors.New("too many metadata entries")

func isPrivate(entry string) bool { return strings.HasPrefix(entry, "/private/") }

// Metadata returns the entries of owner's folder, or of the server when
// folder is "", that viewer sees: the shared ones and viewer's private
// ones, sorted by name. An unknown folder is an error wrapping
// ErrNoFolder.
func (s *Store) Metadata(ctx context.Context, owner Account, folder, viewer string) ([]MetaEntry, error) {
	var out []MetaEntry
	err := s.readTx(ctx, func(tx *sql.Tx) error {
		var rows *sql.Rows
		var err error
		if folder == "" {
			rows, err = tx.QueryContext(ctx, `SELECT entry, value FROM imap_server_metadata WHERE username IN ('', ?) ORDER BY entry`, viewer)
		} else {
			var id int64
			if id, err = s.metaFolder(ctx, tx, owner, folder); err != nil {
				return err
			}
			rows, err = tx.QueryContext(ctx, `SELECT entry, value FROM imap_metadata WHERE folder_id=? AND username IN ('', ?) ORDER BY entry`, id, viewer)
		}
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var e MetaEntry
			if err := rows.Scan(&e.Name, &e.Value); err != nil {
				return err
			}
			if e.Value == nil {
				e.Value = []byte{}
			}
			out = append(out, e)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("store: metadata of %q of %s: %w", folder, owner.Username, err)
	}
	return out, nil
}

// metaFolder returns the id of the folder entries are read or set on.
func (s *Store) metaFolder(ctx context.Context, q querier, owner Account, folder string) (int64, error) {
	name, err := canonName(folder)
	if err != nil {
		return 0, err
	}
	return folderID(ctx, q, owner.Username, name)
}

// SetMetadata sets and removes entries of owner's folder (the server's
// when folder is "") in one transaction: all or none (RFC 5464 4.3).
// Private entries are viewer's. With maxEntries > 0, a change that adds
// entries must leave each user concerned (viewer for private entries,
// the folder's owner for shared ones) with at most maxEntries in all, or
// it fails with ErrMetaTooMany.
func (s *Store) SetMetadata(ctx context.Context, owner Account, folder, viewer string, changes []MetaEntry, maxEntries int) error {
	name := ""
	if folder != "" {
		var err error
		if name, err = canonName(folder); err != nil {
			return fmt.Errorf("store: set metadata of %q of %s: %w", folder, owner.Username, err)
		}
	}
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		var id int64
		if folder != "" {
			var err error
			if id, err = s.metaFolder(ctx, tx, owner, folder); err != nil {
				return err
			}
		}
		users := map[string]bool{}
		for _, c := range changes {
			if isPrivate(c.Name) {
				users[viewer] = true
			} else if folder != "" {
				users[owner.Username] = true
			}
		}
		before := map[string]int{}
		for u := range users {
			n, err := metaCount(ctx, tx, u)
			if err != nil {
				return err
			}
			before[u] = n
		}
		for _, c := range changes {
			if err := setEntry(ctx, tx, id, folder == "", viewer, c); err != nil {
				return err
			}
		}
		if maxEntries <= 0 {
			return nil
		}
		for u := range users {
			n, err := metaCount(ctx, tx, u)
			if err != nil {
				return err
			}
			if n > maxEntries && n > before[u] {
				return fmt.Errorf("%s would have %d entries, at most %d: %w", u, n, maxEntries, ErrMetaTooMany)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: set metadata of %q of %s: %w", folder, owner.Username, err)
	}
	s.publishMetadata(owner.Username, name, viewer, changes)
	return nil
}

// publishMetadata tells the watchers concerned of committed changes
// (RFC 5465 5.9, 5.10): the shared entries of a folder to the watchers
// of its owner, the private ones to viewer's. The server's shared
// entries are the administrator's and change only with the
// configuration. Other processes learn nothing: mail_change has no
// place for entry names.
func (s *Store) publishMetadata(owner, folder, viewer string, changes []MetaEntry) {
	var shared, private []string
	for _, c := range changes {
		switch {
		case isPrivate(c.Name):
			if !slices.Contains(private, c.Name) {
				private = append(private, c.Name)
			}
		case folder != "":
			if !slices.Contains(shared, c.Name) {
				shared = append(shared, c.Name)
			}
		}
	}
	if len(shared) > 0 {
		s.publish(Event{Username: owner, Folder: folder, Kind: EventMetadata,
			Meta: &MetaChange{Owner: owner, Entries: shared}})
	}
	if len(private) > 0 {
		if folder == "" {
			owner = viewer
		}
		s.publish(Event{Username: viewer, Folder: folder, Kind: EventMetadata,
			Meta: &MetaChange{Owner: owner, Private: true, Entries: private}})
	}
}

// setEntry writes or removes one entry of folder id (or of the server).
func setEntry(ctx context.Context, tx *sql.Tx, id int64, server bool, viewer string, c MetaEntry) error {
	user := ""
	if isPrivate(c.Name) {
		user = viewer
	}
	value := c.Value
	if value == nil {
		value = []byte{}
	}
	var err error
	switch {
	case server && c.Remove:
		_, err = tx.ExecContext(ctx, `DELETE FROM imap_server_metadata WHERE username=? AND entry=?`, user, c.Name)
	case server:
		_, err = tx.ExecContext(ctx, `INSERT INTO imap_server_metadata(username, entry, value) VALUES (?,?,?)
			ON CONFLICT(username, entry) DO UPDATE SET value=excluded.value`, user, c.Name, value)
	case c.Remove:
		_, err = tx.ExecContext(ctx, `DELETE FROM imap_metadata WHERE folder_id=? AND username=? AND entry=?`, id, user, c.Name)
	default:
		_, err = tx.ExecContext(ctx, `INSERT INTO imap_metadata(folder_id, username, entry, value) VALUES (?,?,?,?)
			ON CONFLICT(folder_id, username, entry) DO UPDATE SET value=excluded.value`, id, user, c.Name, value)
	}
	return err
}

// metaCount counts what the per-user limit counts for username: its
// private entries (on the server and on any folder) and the shared
// entries of its own folders.
func metaCount(ctx context.Context, tx *sql.Tx, username string) (int, error) {
	var a, b, c int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM imap_server_metadata WHERE username=?`, username).Scan(&a); err != nil {
		return 0, err
	}
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM imap_metadata WHERE username=?`, username).Scan(&b); err != nil {
		return 0, err
	}
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM imap_metadata m JOIN mail_folder f ON f.id = m.folder_id
		WHERE m.username='' AND f.username=?`, username).Scan(&c); err != nil {
		return 0, err
	}
	return a + b + c, nil
}
