package directory

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"

	"mailwarden/internal/auth/password"
)

// scramSHA256 is the mechanism column of mailbox_scram rows this file
// reads and writes.
const scramSHA256 = "SCRAM-SHA-256"

// passwordDigest binds SCRAM keys to the stored password hash they were
// made with: keys whose digest differs from the current hash's are stale.
func passwordDigest(hash string) string {
	sum := sha256.Sum256([]byte(hash))
	return hex.EncodeToString(sum[:])
}

// SCRAMKeys returns the SCRAM-SHA-256 keys stored for a mailbox. It
// returns an error wrapping ErrNotFound when there are none, or when they
// were made for another password than the one the mailbox has now (changed
// since by postfixadmin or SQL, say).
func (dir *Directory) SCRAMKeys(ctx context.Context, address string) (password.SCRAMKeys, error) {
	addr, err := Normalize(address)
	if err != nil {
		return password.SCRAMKeys{}, err
	}
	var k password.SCRAMKeys
	var salt, stored, server, digest, hash string
	err = dir.db.Read.QueryRowContext(ctx, `SELECT s.iterations, s.salt, s.stored_key, s.server_key, s.password_digest, m.password
		FROM mailbox_scram s JOIN mailbox m ON m.username = s.username
		WHERE s.username=? AND s.mechanism=?`, addr, scramSHA256).
		Scan(&k.Iterations, &salt, &stored, &server, &digest, &hash)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return k, fmt.Errorf("SCRAM keys of %s: %w", addr, ErrNotFound)
	case err != nil:
		return k, fmt.Errorf("directory: SCRAM keys of %s: %w", addr, err)
	case digest != passwordDigest(hash):
		return k, fmt.Errorf("SCRAM keys of %s: made for an older password: %w", addr, ErrNotFound)
	}
	for _, f := range []struct {
		dst *[]byte
		src string
	}{{&k.Salt, salt}, {&k.StoredKey, stored}, {&k.ServerKey, server}} {
		if *f.dst, err = base64.StdEncoding.DecodeString(f.src); err != nil {
			return password.SCRAMKeys{}, fmt.Errorf("directory: SCRAM keys of %s: %w", addr, err)
		}
	}
	return k, nil
}

// SetSCRAMKeys stores SCRAM-SHA-256 keys for a mailbox, made from the same
// password as forHash. It fails with ErrNotFound when the mailbox does not
// exist or its stored hash is no longer forHash (the password changed
// meanwhile): keys are never stored for another password than the current
// one.
func (dir *Directory) SetSCRAMKeys(ctx context.Context, address, forHash string, k password.SCRAMKeys) error {
	addr, err := Normalize(address)
	if err != nil {
		return err
	}
	b64 := base64.StdEncoding.EncodeToString
	return dir.db.Tx(ctx, func(tx *sql.Tx) error {
		var hash string
		err := tx.QueryRowContext(ctx, `SELECT password FROM mailbox WHERE username=?`, addr).Scan(&hash)
		if errors.Is(err, sql.ErrNoRows) || err == nil && hash != forHash {
			return fmt.Errorf("mailbox %s with that password: %w", addr, ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("directory: set SCRAM keys of %s: %w", addr, err)
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO mailbox_scram(username, mechanism, iterations, salt, stored_key, server_key, password_digest)
			VALUES (?,?,?,?,?,?,?)
			ON CONFLICT(username, mechanism) DO UPDATE SET iterations=excluded.iterations, salt=excluded.salt,
				stored_key=excluded.stored_key, server_key=excluded.server_key,
				password_digest=excluded.password_digest, modified=CURRENT_TIMESTAMP`,
			addr, scramSHA256, k.Iterations, b64(k.Salt), b64(k.StoredKey), b64(k.ServerKey), passwordDigest(forHash))
		if err != nil {
			return fmt.Errorf("directory: set SCRAM keys of %s: %w", addr, err)
		}
		return nil
	})
}

// Secret returns the per-installation secret called name, size random
// bytes made and stored on first use. Every node sharing the database
// gets the same value.
func (dir *Directory) Secret(ctx context.Context, name string, size int) ([]byte, error) {
	read := func() ([]byte, error) {
		var v string
		err := dir.db.Read.QueryRowContext(ctx, `SELECT value FROM install_secret WHERE name=?`, name).Scan(&v)
		if err != nil {
			return nil, err
		}
		return base64.StdEncoding.DecodeString(v)
	}
	v, err := read()
	if err == nil {
		return v, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("directory: secret %s: %w", name, err)
	}
	b := make([]byte, size)
	rand.Read(b)
	// Two nodes may race here: the first insert wins, both read it back.
	if _, err := dir.db.Write.ExecContext(ctx, `INSERT INTO install_secret(name, value) VALUES (?,?) ON CONFLICT(name) DO NOTHING`,
		name, base64.StdEncoding.EncodeToString(b)); err != nil {
		return nil, fmt.Errorf("directory: store secret %s: %w", name, err)
	}
	if v, err = read(); err != nil {
		return nil, fmt.Errorf("directory: secret %s: %w", name, err)
	}
	return v, nil
}
