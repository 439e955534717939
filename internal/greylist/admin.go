package greylist

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"strings"
	"time"

	"mailwarden/internal/sqldb"
)

// Entry is one triplet as `mailwarden greylist list` shows it.
type Entry struct {
	ClientNet, Sender, Recipient string
	ClientIP                     string // the last client address seen
	First, Last, Passed          time.Time
	Tarpit                       bool // tarpitted, waiting for DATA (or hung up)
}

// State names where a triplet stands: "passed", "tarpit" or "waiting".
func (e Entry) State() string {
	switch {
	case !e.Passed.IsZero():
		return "passed"
	case e.Tarpit:
		return "tarpit"
	}
	return "waiting"
}

// Filter picks triplets. Empty fields match everything; Sender and
// Recipient match exactly (after lower-casing) unless they contain "*",
// which stands for any characters.
type Filter struct {
	Client    netip.Prefix // triplets whose network overlaps it
	Sender    string
	Recipient string
	State     string // "", "passed", "tarpit", "waiting"
	Limit     int    // 0: no limit
}

// Empty reports whether f picks every triplet.
func (f Filter) Empty() bool {
	return !f.Client.IsValid() && f.Sender == "" && f.Recipient == "" && f.State == ""
}

// like turns a "*" pattern into SQL LIKE with "\" as escape.
func like(s string) (string, bool) {
	s = strings.ToLower(s)
	if !strings.Contains(s, "*") {
		return s, false
	}
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`, `*`, `%`)
	return r.Replace(s), true
}

func (f Filter) where() (string, []any) {
	var conds []string
	var args []any
	for _, c := range []struct{ col, v string }{{"sender", f.Sender}, {"recipient", f.Recipient}} {
		if c.v == "" {
			continue
		}
		if p, ok := like(c.v); ok {
			conds = append(conds, c.col+` LIKE ? ESCAPE '\'`)
			args = append(args, p)
		} else {
			conds = append(conds, c.col+" = ?")
			args = append(args, p)
		}
	}
	switch f.State {
	case "passed":
		conds = append(conds, "passed <> 0")
	case "tarpit":
		conds = append(conds, "passed = 0 AND tarpit = 1")
	case "waiting":
		conds = append(conds, "passed = 0 AND tarpit = 0")
	}
	if len(conds) == 0 {
		return "", nil
	}
	return " WHERE " + strings.Join(conds, " AND "), args
}

// CheckState reports whether s names a triplet state for Filter.State.
func CheckState(s string) error {
	switch s {
	case "", "passed", "tarpit", "waiting":
		return nil
	}
	return fmt.Errorf("greylist: state %q: want passed, tarpit or waiting", s)
}

// List returns the triplets f picks, most recently seen first.
func List(ctx context.Context, db *sqldb.DB, f Filter) ([]Entry, error) {
	where, args := f.where()
	rows, err := db.Read.QueryContext(ctx, `SELECT client_net, sender, recipient, client_ip, first_seen, last_seen, passed, tarpit
		FROM greylist_triplet`+where+` ORDER BY last_seen DESC, client_net, sender, recipient`, args...)
	if err != nil {
		return nil, fmt.Errorf("greylist: list: %w", err)
	}
	defer rows.Close()
	var out []Entry
	for rows.Next() {
		var e Entry
		var first, last, passed int64
		var tarpit int
		if err := rows.Scan(&e.ClientNet, &e.Sender, &e.Recipient, &e.ClientIP, &first, &last, &passed, &tarpit); err != nil {
			return nil, fmt.Errorf("greylist: list: %w", err)
		}
		if !f.clientMatches(e.ClientNet) {
			continue
		}
		e.First, e.Last, e.Tarpit = time.Unix(first, 0), time.Unix(last, 0), tarpit != 0
		if passed != 0 {
			e.Passed = time.Unix(passed, 0)
		}
		out = append(out, e)
		if f.Limit > 0 && len(out) >= f.Limit {
			break
		}
	}
	return out, rows.Err()
}

func (f Filter) clientMatches(net string) bool {
	if !f.Client.IsValid() {
		return true
	}
	p, err := netip.ParsePrefix(net)
	return err == nil && p.Overlaps(f.Client)
}

// Delete removes the triplets f picks (f must pick something) and reports
// how many went.
func Delete(ctx context.Context, db *sqldb.DB, f Filter) (int64, error) {
	if f.Empty() {
		return 0, errors.New("greylist: delete: name a client, sender, recipient or state (all triplets: --all)")
	}
	f.Limit = 0
	es, err := List(ctx, db, f)
	if err != nil {
		return 0, err
	}
	var n int64
	err = db.Tx(ctx, func(tx *sql.Tx) error {
		for _, e := range es {
			res, err := tx.ExecContext(ctx, `DELETE FROM greylist_triplet WHERE client_net = ? AND sender = ? AND recipient = ?`,
				e.ClientNet, e.Sender, e.Recipient)
			if err != nil {
				return fmt.Errorf("greylist: delete: %w", err)
			}
			k, _ := res.RowsAffected()
			n += k
		}
		return nil
	})
	return n, err
}

// DeleteAll removes every triplet.
func DeleteAll(ctx context.Context, db *sqldb.DB) (int64, error) {
	res, err := db.Write.ExecContext(ctx, `DELETE FROM greylist_triplet`)
	if err != nil {
		return 0, fmt.Errorf("greylist: delete: %w", err)
	}
	return res.RowsAffected()
}

// ParseClient reads a client address or network ("192.0.2.7",
// "192.0.2.0/24", "2001:db8::/48"), masked.
func ParseClient(s string) (netip.Prefix, error) {
	p, err := parsePrefix(strings.TrimSpace(s))
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("greylist: %w", err)
	}
	return p, nil
}

// WhitelistEntry is a client or network whitelisted by hand.
type WhitelistEntry struct {
	Prefix  netip.Prefix
	Reason  string
	Created time.Time
}

// maxReason bounds a whitelist reason (the column's size).
const maxReason = 255

// Whitelist lets a client or network through without greylisting or
// tarpitting; running servers see it within seconds.
func Whitelist(ctx context.Context, db *sqldb.DB, p netip.Prefix, reason string, now time.Time) error {
	if len(reason) > maxReason || strings.ContainsAny(reason, "\r\n") {
		return fmt.Errorf("greylist: reason: one line of at most %d bytes", maxReason)
	}
	_, err := db.Write.ExecContext(ctx, `INSERT INTO greylist_whitelist (prefix, reason, created) VALUES (?, ?, ?)
		ON CONFLICT (prefix) DO UPDATE SET reason = excluded.reason, created = excluded.created`, p.String(), reason, now.Unix())
	if err != nil {
		return fmt.Errorf("greylist: whitelist: %w", err)
	}
	return nil
}

// Unwhitelist removes a hand whitelist entry, or an auto-whitelisted
// client address; it reports whether there was one.
func Unwhitelist(ctx context.Context, db *sqldb.DB, p netip.Prefix) (bool, error) {
	var n int64
	err := db.Tx(ctx, func(tx *sql.Tx) error {
		for _, q := range []struct {
			sql string
			arg string
		}{
			{`DELETE FROM greylist_whitelist WHERE prefix = ?`, p.String()},
			{`DELETE FROM greylist_client WHERE client = ?`, p.Addr().String()},
		} {
			if q.sql == `DELETE FROM greylist_client WHERE client = ?` && !p.IsSingleIP() {
				continue
			}
			res, err := tx.ExecContext(ctx, q.sql, q.arg)
			if err != nil {
				return fmt.Errorf("greylist: unwhitelist: %w", err)
			}
			k, _ := res.RowsAffected()
			n += k
		}
		return nil
	})
	return n > 0, err
}

// Whitelisted lists the hand whitelist.
func Whitelisted(ctx context.Context, db *sqldb.DB) ([]WhitelistEntry, error) {
	rows, err := db.Read.QueryContext(ctx, `SELECT prefix, reason, created FROM greylist_whitelist ORDER BY prefix`)
	if err != nil {
		return nil, fmt.Errorf("greylist: whitelist: %w", err)
	}
	defer rows.Close()
	var out []WhitelistEntry
	for rows.Next() {
		var s, reason string
		var created int64
		if err := rows.Scan(&s, &reason, &created); err != nil {
			return nil, fmt.Errorf("greylist: whitelist: %w", err)
		}
		p, err := netip.ParsePrefix(s)
		if err != nil {
			continue
		}
		out = append(out, WhitelistEntry{Prefix: p, Reason: reason, Created: time.Unix(created, 0)})
	}
	return out, rows.Err()
}

// AutoClient is a client address counted by the auto-whitelist.
type AutoClient struct {
	Address  string
	Hits     int64
	LastSeen time.Time
}

// AutoClients lists the clients the auto-whitelist counts, most hits
// first.
func AutoClients(ctx context.Context, db *sqldb.DB) ([]AutoClient, error) {
	rows, err := db.Read.QueryContext(ctx, `SELECT client, hits, last_seen FROM greylist_client ORDER BY hits DESC, client`)
	if err != nil {
		return nil, fmt.Errorf("greylist: clients: %w", err)
	}
	defer rows.Close()
	var out []AutoClient
	for rows.Next() {
		var a AutoClient
		var last int64
		if err := rows.Scan(&a.Address, &a.Hits, &last); err != nil {
			return nil, fmt.Errorf("greylist: clients: %w", err)
		}
		a.LastSeen = time.Unix(last, 0)
		out = append(out, a)
	}
	return out, rows.Err()
}

// Stats are the counts `mailwarden greylist stats` shows.
type Stats struct {
	Triplets, Waiting, Tarpit, Passed int64
	// AutoWhitelisted counts client addresses with at least
	// auto_whitelist_clients successes; Counted all the auto-whitelist
	// knows.
	AutoWhitelisted, Counted int64
	Whitelisted              int64 // hand whitelist entries
	DBBytes                  int64 // the database file with its WAL
}

// GetStats counts; awl is auto_whitelist_clients.
func GetStats(ctx context.Context, db *sqldb.DB, awl int) (Stats, error) {
	var s Stats
	if awl <= 0 {
		awl = 1 << 30
	}
	for _, q := range []struct {
		sql  string
		args []any
		dst  *int64
	}{
		{`SELECT COUNT(*) FROM greylist_triplet`, nil, &s.Triplets},
		{`SELECT COUNT(*) FROM greylist_triplet WHERE passed = 0 AND tarpit = 0`, nil, &s.Waiting},
		{`SELECT COUNT(*) FROM greylist_triplet WHERE passed = 0 AND tarpit = 1`, nil, &s.Tarpit},
		{`SELECT COUNT(*) FROM greylist_triplet WHERE passed <> 0`, nil, &s.Passed},
		{`SELECT COUNT(*) FROM greylist_client WHERE hits >= ?`, []any{awl}, &s.AutoWhitelisted},
		{`SELECT COUNT(*) FROM greylist_client`, nil, &s.Counted},
		{`SELECT COUNT(*) FROM greylist_whitelist`, nil, &s.Whitelisted},
	} {
		if err := db.Read.QueryRowContext(ctx, q.sql, q.args...).Scan(q.dst); err != nil {
			return s, fmt.Errorf("greylist: stats: %w", err)
		}
	}
	for _, suffix := range []string{"", "-wal"} {
		if fi, err := os.Stat(db.Path + suffix); err == nil {
			s.DBBytes += fi.Size()
		}
	}
	return s, nil
}
