package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
)

// URLAuthKey returns the mailbox access key of a folder of a (RFC 4467
// 3): the secret its URLAUTH tokens are made with. With create it makes
// one when the folder has none (GENURLAUTH); otherwise a folder without
// a key gives nil (URLFETCH: no URL of it is valid). A missing folder is
// an error wrapping ErrNoFolder.
func (s *Store) URLAuthKey(ctx context.Context, a Account, folder string, create bool) ([]byte, error) {
	folder, err := canonName(folder)
	if err != nil {
		return nil, err
	}
	var enc string
	read := func(q querier) (int64, error) {
		id, err := folderID(ctx, q, a.Username, folder)
		if err != nil {
			return 0, err
		}
		err = q.QueryRowContext(ctx, `SELECT access_key FROM mail_urlauth_key WHERE folder_id=?`, id).Scan(&enc)
		return id, err
	}
	_, err = read(s.db.Read)
	if errors.Is(err, sql.ErrNoRows) && create {
		err = s.db.Tx(ctx, func(tx *sql.Tx) error {
			id, err := read(tx)
			if !errors.Is(err, sql.ErrNoRows) {
				return err
			}
			key := make([]byte, 32)
			rand.Read(key)
			enc = hex.EncodeToString(key)
			_, err = tx.ExecContext(ctx, `INSERT INTO mail_urlauth_key(folder_id, access_key) VALUES (?, ?)`, id, enc)
			return err
		})
	}
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("store: URLAUTH key of %q of %s: %w", folder, a.Username, err)
	}
	return hex.DecodeString(enc)
}

// ResetURLAuthKeys deletes the mailbox access key of one folder of a,
// or of all its folders when folder is "" (RESETKEY, RFC 4467 4): every
// URL made with them stops working, and the next GENURLAUTH makes a new
// key. A missing folder is an error wrapping ErrNoFolder.
func (s *Store) ResetURLAuthKeys(ctx context.Context, a Account, folder string) error {
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		if folder == "" {
			_, err := tx.ExecContext(ctx, `DELETE FROM mail_urlauth_key
				WHERE folder_id IN (SELECT id FROM mail_folder WHERE username=?)`, a.Username)
			return err
		}
		name, err := canonName(folder)
		if err != nil {
			return err
		}
		id, err := folderID(ctx, tx, a.Username, name)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM mail_urlauth_key WHERE folder_id=?`, id)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: reset URLAUTH keys of %s: %w", a.Username, err)
	}
	return nil
}
