package directory

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
)

// AddMailbox creates a mailbox. m.PasswordHash must already be hashed.
// Maildir defaults to "domain/local/".
func (dir *Directory) AddMailbox(ctx context.Context, m Mailbox) (Mailbox, error) {
	addr, err := Normalize(m.Username)
	if err != nil {
		return m, err
	}
	m.Username = addr
	local, domain, _ := Split(addr)
	if strings.ContainsAny(local, "/\\") || local == "." || local == ".." {
		return m, fmt.Errorf("%w: %q: local part cannot be used as a directory name", ErrBadAddress, addr)
	}
	if m.Maildir == "" {
		m.Maildir = domain + "/" + local + "/"
	}
	err = dir.db.Tx(ctx, func(tx *sql.Tx) error {
		var max, count int
		var maxQuota int64
		err := tx.QueryRowContext(ctx, `SELECT mailboxes, maxquota FROM domain WHERE domain=?`, domain).Scan(&max, &maxQuota)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("mailbox %s: domain %s is not a domain here (add it with: mailwarden domain add %s)", addr, domain, domain)
		}
		if err != nil {
			return err
		}
		if maxQuota > 0 && (m.Quota == 0 || m.Quota > maxQuota) {
			return fmt.Errorf("mailbox %s: quota must be set and at most the domain's limit of %d bytes", addr, maxQuota)
		}
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM mailbox WHERE domain=?`, domain).Scan(&count); err != nil {
			return err
		}
		if max > 0 && count >= max {
			return fmt.Errorf("mailbox %s: domain %s already has its limit of %d mailboxes", addr, domain, max)
		}
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM mailbox WHERE username=?`, addr).Scan(&count); err != nil {
			return err
		}
		if count > 0 {
			return fmt.Errorf("mailbox %s: %w", addr, ErrExists)
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO mailbox(username, password, name, maildir, quota, local_part, domain, active)
			VALUES (?,?,?,?,?,?,?,?)`, addr, m.PasswordHash, m.Name, m.Maildir, m.Quota, local, domain, b2i(m.Active))
		if err != nil {
			return fmt.Errorf("directory: add mailbox %s: %w", addr, err)
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO quota2(username, bytes, messages) VALUES (?,0,0) ON CONFLICT(username) DO NOTHING`, addr)
		return err
	})
	return m, err
}

// Mailbox looks up one mailbox by address (active or not).
func (dir *Directory) Mailbox(ctx context.Context, address string) (Mailbox, error) {
	addr, err := Normalize(address)
	if err != nil {
		return Mailbox{}, err
	}
	var m Mailbox
	var act int
	err = dir.db.Read.QueryRowContext(ctx, `SELECT username, password, name, maildir, quota, active, created FROM mailbox WHERE username=?`, addr).
		Scan(&m.Username, &m.PasswordHash, &m.Name, &m.Maildir, &m.Quota, &act, &m.Created)
	if errors.Is(err, sql.ErrNoRows) {
		return m, fmt.Errorf("mailbox %s: %w", addr, ErrNotFound)
	}
	m.Active = act == 1
	return m, err
}

// ListMailboxes lists mailboxes, of one domain when domain is not empty.
func (dir *Directory) ListMailboxes(ctx context.Context, domain string) ([]Mailbox, error) {
	q := `SELECT username, password, name, maildir, quota, active, created FROM mailbox`
	var args []any
	if domain != "" {
		q += ` WHERE domain=?`
		args = append(args, strings.ToLower(domain))
	}
	rows, err := dir.db.Read.QueryContext(ctx, q+` ORDER BY username`, args...)
	if err != nil {
		return nil, fmt.Errorf("directory: list mailboxes: %w", err)
	}
	defer rows.Close()
	var out []Mailbox
	for rows.Next() {
		var m Mailbox
		var act int
		if err := rows.Scan(&m.Username, &m.PasswordHash, &m.Name, &m.Maildir, &m.Quota, &act, &m.Created); err != nil {
			return nil, err
		}
		m.Active = act == 1
		out = append(out, m)
	}
	return out, rows.Err()
}

// updateMailbox runs one UPDATE on a mailbox row and reports ErrNotFound.
func (dir *Directory) updateMailbox(ctx context.Context, address, set string, arg any) error {
	addr, err := Normalize(address)
	if err != nil {
		return err
	}
	res, err := dir.db.Write.ExecContext(ctx, `UPDATE mailbox SET `+set+`=?, modified=CURRENT_TIMESTAMP WHERE username=?`, arg, addr)
	if err != nil {
		return fmt.Errorf("directory: update %s of %s: %w", set, addr, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("mailbox %s: %w", addr, ErrNotFound)
	}
	return nil
}

// SetPassword stores a new password hash.
func (dir *Directory) SetPassword(ctx context.Context, address, hash string) error {
	return dir.updateMailbox(ctx, address, "password", hash)
}

// SetQuota sets the quota in bytes (0 = unlimited).
func (dir *Directory) SetQuota(ctx context.Context, address string, quota int64) error {
	return dir.updateMailbox(ctx, address, "quota", quota)
}

// SetActive enables or disables a mailbox.
func (dir *Directory) SetActive(ctx context.Context, address string, active bool) error {
	return dir.updateMailbox(ctx, address, "active", b2i(active))
}

// DeleteMailbox removes the account row and its usage row; the caller
// decides what happens to the mail files.
func (dir *Directory) DeleteMailbox(ctx context.Context, address string) (Mailbox, error) {
	m, err := dir.Mailbox(ctx, address)
	if err != nil {
		return m, err
	}
	err = dir.db.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM mailbox WHERE username=?`, m.Username); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM quota2 WHERE username=?`, m.Username)
		return err
	})
	return m, err
}
