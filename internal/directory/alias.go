package directory

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
)

// normalizeAliasAddress accepts "user@domain" and the catch-all "@domain".
func normalizeAliasAddress(a string) (addr, domain string, err error) {
	a = strings.TrimSpace(a)
	if strings.HasPrefix(a, "@") {
		d := strings.ToLower(a[1:])
		if err := CheckDomain(d); err != nil {
			return "", "", err
		}
		return "@" + d, d, nil
	}
	addr, err = Normalize(a)
	if err != nil {
		return "", "", err
	}
	_, domain, _ = Split(addr)
	return addr, domain, nil
}

// AddAlias creates or replaces the alias address -> targets. A target of
// the form "@other.example" rewrites the domain (postfixadmin style).
func (dir *Directory) AddAlias(ctx context.Context, address string, targets []string) error {
	addr, domain, err := normalizeAliasAddress(address)
	if err != nil {
		return err
	}
	var clean []string
	for _, t := range targets {
		t = strings.TrimSpace(t)
		if t == "" {
			continue
		}
		n, _, err := normalizeAliasAddress(t)
		if err != nil {
			return fmt.Errorf("alias %s: target: %w", addr, err)
		}
		clean = append(clean, n)
	}
	if len(clean) == 0 {
		return fmt.Errorf("alias %s: needs at least one target", addr)
	}
	return dir.db.Tx(ctx, func(tx *sql.Tx) error {
		if kind, err := domainKind(ctx, tx, domain); err != nil {
			return err
		} else if kind != "domain" {
			return fmt.Errorf("alias %s: %s is not a domain here (alias domains take no aliases of their own)", addr, domain)
		}
		var max, count int
		if err := tx.QueryRowContext(ctx, `SELECT aliases FROM domain WHERE domain=?`, domain).Scan(&max); err != nil {
			return err
		}
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM alias WHERE domain=? AND address<>?`, domain, addr).Scan(&count); err != nil {
			return err
		}
		if max > 0 && count >= max {
			return fmt.Errorf("alias %s: domain %s already has its limit of %d aliases", addr, domain, max)
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO alias(address, goto, domain, active) VALUES (?,?,?,1)
			ON CONFLICT(address) DO UPDATE SET goto=excluded.goto, modified=CURRENT_TIMESTAMP`,
			addr, strings.Join(clean, ","), domain)
		return err
	})
}

// ListAliases lists aliases, of one domain when domain is not empty.
func (dir *Directory) ListAliases(ctx context.Context, domain string) ([]Alias, error) {
	q := `SELECT address, goto, active FROM alias`
	var args []any
	if domain != "" {
		q += ` WHERE domain=?`
		args = append(args, strings.ToLower(domain))
	}
	rows, err := dir.db.Read.QueryContext(ctx, q+` ORDER BY address`, args...)
	if err != nil {
		return nil, fmt.Errorf("directory: list aliases: %w", err)
	}
	defer rows.Close()
	var out []Alias
	for rows.Next() {
		var a Alias
		var g string
		var act int
		if err := rows.Scan(&a.Address, &g, &act); err != nil {
			return nil, err
		}
		a.Goto, a.Active = splitGoto(g), act == 1
		out = append(out, a)
	}
	return out, rows.Err()
}

// DeleteAlias removes an alias.
func (dir *Directory) DeleteAlias(ctx context.Context, address string) error {
	addr, _, err := normalizeAliasAddress(address)
	if err != nil {
		return err
	}
	res, err := dir.db.Write.ExecContext(ctx, `DELETE FROM alias WHERE address=?`, addr)
	if err != nil {
		return fmt.Errorf("directory: delete alias %s: %w", addr, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("alias %s: %w", addr, ErrNotFound)
	}
	return nil
}

func splitGoto(g string) []string {
	var out []string
	for _, t := range strings.Split(g, ",") {
		if t = strings.TrimSpace(t); t != "" {
			out = append(out, t)
		}
	}
	return out
}

// aliasTargets returns the active alias targets of addr, or nil.
func (dir *Directory) aliasTargets(ctx context.Context, addr string) ([]string, error) {
	var g string
	err := dir.db.Read.QueryRowContext(ctx, `SELECT goto FROM alias WHERE address=? AND active=1`, addr).Scan(&g)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("directory: alias lookup %s: %w", addr, err)
	}
	return splitGoto(g), nil
}
