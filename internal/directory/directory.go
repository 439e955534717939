package directory

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"mailwarden/internal/sqldb"
)

// ErrNotFound is returned when a named domain, mailbox or alias does not exist.
var ErrNotFound = errors.New("not found")

// ErrExists is returned when adding something that is already there.
var ErrExists = errors.New("already exists")

// Directory is the account database.
type Directory struct {
	db *sqldb.DB
	// relay reports whether a domain not in the database is a relay
	// domain (config relay_domains); see SetRelayDomains.
	relay atomic.Pointer[func(domain string) bool]
	// local expands the local aliases of system accounts; see
	// SetLocalAliases.
	local atomic.Pointer[func(local, domain string) []string]
}

// SetLocalAliases makes Resolve send local@domain to the addresses
// expand returns for it (Postfix's alias_maps for mail to root,
// postmaster ... at the local domain); expand returns nil for addresses
// it does not alias, and decides which domains are local. It is called
// at every lookup, so it may follow a reloaded config; nil turns it off.
func (dir *Directory) SetLocalAliases(expand func(local, domain string) []string) {
	if expand == nil {
		dir.local.Store(nil)
		return
	}
	dir.local.Store(&expand)
}

// SetRelayDomains makes Classify treat the domains for which isRelay
// returns true, and which are not in the database, like backup-MX
// domains (Postfix relay_domains). isRelay is called at every lookup, so
// it may follow a reloaded config; nil turns it off.
func (dir *Directory) SetRelayDomains(isRelay func(domain string) bool) {
	if isRelay == nil {
		dir.relay.Store(nil)
		return
	}
	dir.relay.Store(&isRelay)
}

// New returns a Directory over db.
func New(db *sqldb.DB) *Directory { return &Directory{db: db} }

// Domain is a row of the domain table, or of alias_domain when AliasOf is set.
type Domain struct {
	Name        string
	Description string
	AliasOf     string // set for an alias domain
	BackupMX    bool
	Active      bool
	MaxQuota    int64 // per-mailbox ceiling in bytes, 0 = none
	Quota       int64 // domain total in bytes, 0 = none
	MaxAliases  int   // 0 = unlimited
	MaxMailbox  int   // 0 = unlimited
	Created     time.Time
}

// Mailbox is a row of the mailbox table.
type Mailbox struct {
	Username     string // full address, lower case
	PasswordHash string
	Name         string
	Maildir      string // relative to data_dir/mail, "domain/local/"
	Quota        int64  // bytes, 0 = unlimited
	Active       bool
	Created      time.Time
}

// Alias is a row of the alias table. Address "@domain" is a catch-all.
type Alias struct {
	Address string
	Goto    []string
	Active  bool
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// AddDomain creates a domain, or an alias domain when d.AliasOf is set.
func (dir *Directory) AddDomain(ctx context.Context, d Domain) error {
	d.Name = strings.ToLower(strings.TrimSuffix(d.Name, "."))
	if err := CheckDomain(d.Name); err != nil {
		return err
	}
	return dir.db.Tx(ctx, func(tx *sql.Tx) error {
		if kind, _ := domainKind(ctx, tx, d.Name); kind != "" {
			return fmt.Errorf("domain %s: %w", d.Name, ErrExists)
		}
		if d.AliasOf != "" {
			target := strings.ToLower(d.AliasOf)
			if kind, _ := domainKind(ctx, tx, target); kind != "domain" {
				return fmt.Errorf("alias domain %s: target %s is not a domain here", d.Name, target)
			}
			_, err := tx.ExecContext(ctx, `INSERT INTO alias_domain(alias_domain, target_domain, active) VALUES (?,?,?)`,
				d.Name, target, b2i(d.Active))
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO domain(domain, description, aliases, mailboxes, maxquota, quota, backupmx, active)
			VALUES (?,?,?,?,?,?,?,?)`, d.Name, d.Description, d.MaxAliases, d.MaxMailbox, d.MaxQuota, d.Quota, b2i(d.BackupMX), b2i(d.Active))
		return err
	})
}

type queryer interface {
	QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row
}

// domainKind says whether name is a "domain", an "alias" domain, or "".
func domainKind(ctx context.Context, q queryer, name string) (string, error) {
	var n int
	if err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM domain WHERE domain=?`, name).Scan(&n); err != nil {
		return "", err
	}
	if n > 0 {
		return "domain", nil
	}
	if err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM alias_domain WHERE alias_domain=?`, name).Scan(&n); err != nil {
		return "", err
	}
	if n > 0 {
		return "alias", nil
	}
	return "", nil
}

// ListDomains returns domains and alias domains, sorted by name.
func (dir *Directory) ListDomains(ctx context.Context) ([]Domain, error) {
	var out []Domain
	rows, err := dir.db.Read.QueryContext(ctx, `SELECT domain, description, backupmx, active, maxquota, quota, aliases, mailboxes, created FROM domain`)
	if err != nil {
		return nil, fmt.Errorf("directory: list domains: %w", err)
	}
	for rows.Next() {
		var d Domain
		var bmx, act int
		if err := rows.Scan(&d.Name, &d.Description, &bmx, &act, &d.MaxQuota, &d.Quota, &d.MaxAliases, &d.MaxMailbox, &d.Created); err != nil {
			rows.Close()
			return nil, err
		}
		d.BackupMX, d.Active = bmx == 1, act == 1
		out = append(out, d)
	}
	rows.Close()
	rows, err = dir.db.Read.QueryContext(ctx, `SELECT alias_domain, target_domain, active, created FROM alias_domain`)
	if err != nil {
		return nil, fmt.Errorf("directory: list alias domains: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var d Domain
		var act int
		if err := rows.Scan(&d.Name, &d.AliasOf, &act, &d.Created); err != nil {
			return nil, err
		}
		d.Active = act == 1
		out = append(out, d)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, rows.Err()
}

// DeleteDomain removes a domain with its aliases and alias domains. It
// refuses while mailboxes remain unless force is set; mail files are never
// removed here.
func (dir *Directory) DeleteDomain(ctx context.Context, name string, force bool) error {
	name = strings.ToLower(name)
	return dir.db.Tx(ctx, func(tx *sql.Tx) error {
		kind, err := domainKind(ctx, tx, name)
		if err != nil {
			return err
		}
		switch kind {
		case "":
			return fmt.Errorf("domain %s: %w", name, ErrNotFound)
		case "alias":
			_, err := tx.ExecContext(ctx, `DELETE FROM alias_domain WHERE alias_domain=?`, name)
			return err
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM mailbox WHERE domain=?`, name).Scan(&n); err != nil {
			return err
		}
		if n > 0 && !force {
			return fmt.Errorf("domain %s still has %d mailbox(es): delete them first, or use --force (mail files stay on disk)", name, n)
		}
		for _, q := range []string{
			`DELETE FROM alias WHERE domain=?`,
			`DELETE FROM mailbox WHERE domain=?`,
			`DELETE FROM alias_domain WHERE target_domain=?`,
			`DELETE FROM domain WHERE domain=?`,
		} {
			if _, err := tx.ExecContext(ctx, q, name); err != nil {
				return fmt.Errorf("directory: delete domain %s: %w", name, err)
			}
		}
		return nil
	})
}
