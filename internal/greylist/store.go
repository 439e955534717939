package greylist

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/netip"
)

// load fills t's times from the database; false when the triplet is new.
func (g *Greylist) load(ctx context.Context, t *triplet) (bool, error) {
	var tarpit int
	err := g.db.Read.QueryRowContext(ctx, `SELECT first_seen, last_seen, passed, tarpit FROM greylist_triplet
		WHERE client_net = ? AND sender = ? AND recipient = ?`, t.net, t.sender, t.rcpt).Scan(&t.first, &t.last, &t.passed, &tarpit)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("triplet lookup: %w", err)
	}
	t.tarpit = tarpit != 0
	return true, nil
}

// save writes t (insert or replace).
func (g *Greylist) save(ctx context.Context, t triplet, ip string) error {
	tarpit := 0
	if t.tarpit {
		tarpit = 1
	}
	_, err := g.db.Write.ExecContext(ctx, `INSERT INTO greylist_triplet
		(client_net, sender, recipient, first_seen, last_seen, passed, tarpit, client_ip) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (client_net, sender, recipient) DO UPDATE SET first_seen = excluded.first_seen,
		last_seen = excluded.last_seen, passed = excluded.passed, tarpit = excluded.tarpit, client_ip = excluded.client_ip`,
		t.net, t.sender, t.rcpt, t.first, t.last, t.passed, tarpit, ip)
	if err != nil {
		return fmt.Errorf("triplet update: %w", err)
	}
	return nil
}

// awlHour is postgrey's rule: one success an hour counts.
const awlHour = 3600

// awlPass reports whether the client address is auto-whitelisted, and
// keeps its last-seen time (once an hour) so that max_age counts from its
// last mail.
func (g *Greylist) awlPass(ctx context.Context, ip string, now int64) (bool, error) {
	n := g.cfg().AutoWhitelistClients
	if n <= 0 {
		return false, nil
	}
	var count, last int64
	err := g.db.Read.QueryRowContext(ctx, `SELECT hits, last_seen FROM greylist_client WHERE client = ?`, ip).Scan(&count, &last)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("client lookup: %w", err)
	}
	if count < int64(n) {
		return false, nil
	}
	if now >= last+awlHour || last > now {
		if _, err := g.db.Write.ExecContext(ctx, `UPDATE greylist_client SET hits = hits + 1, last_seen = ? WHERE client = ?`, now, ip); err != nil {
			return false, fmt.Errorf("client update: %w", err)
		}
	}
	return true, nil
}

// awlCount counts a successful retry of the client (one an hour).
func (g *Greylist) awlCount(ctx context.Context, ip string, now int64) error {
	if g.cfg().AutoWhitelistClients <= 0 {
		return nil
	}
	res, err := g.db.Write.ExecContext(ctx, `UPDATE greylist_client SET hits = hits + 1, last_seen = ?
		WHERE client = ? AND (last_seen <= ? OR last_seen > ?)`, now, ip, now-awlHour, now)
	if err != nil {
		return fmt.Errorf("client update: %w", err)
	}
	if n, _ := res.RowsAffected(); n > 0 {
		var count int64
		if err := g.db.Write.QueryRowContext(ctx, `SELECT hits FROM greylist_client WHERE client = ?`, ip).Scan(&count); err == nil && count == int64(g.cfg().AutoWhitelistClients) {
			g.o.Log.Info("whitelisted: " + ip)
		}
		return nil
	}
	_, err = g.db.Write.ExecContext(ctx, `INSERT INTO greylist_client (client, hits, last_seen) VALUES (?, 1, ?)
		ON CONFLICT (client) DO NOTHING`, ip, now)
	if err != nil {
		return fmt.Errorf("client update: %w", err)
	}
	if g.cfg().AutoWhitelistClients == 1 {
		g.o.Log.Info("whitelisted: " + ip)
	}
	return nil
}

// reloadManual reads the hand whitelist.
func (g *Greylist) reloadManual(ctx context.Context) error {
	rows, err := g.db.Read.QueryContext(ctx, `SELECT prefix FROM greylist_whitelist`)
	if err != nil {
		return fmt.Errorf("greylist: whitelist: %w", err)
	}
	defer rows.Close()
	var ps []netip.Prefix
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return fmt.Errorf("greylist: whitelist: %w", err)
		}
		if p, err := netip.ParsePrefix(s); err == nil {
			ps = append(ps, p)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("greylist: whitelist: %w", err)
	}
	g.manual.Store(&ps)
	return nil
}

// Sweep deletes triplets and auto-whitelisted clients not seen for
// max_age, and reports how many went.
func (g *Greylist) Sweep(ctx context.Context) (int64, error) {
	cut := g.o.Now().Add(-g.cfg().MaxAge.D()).Unix()
	var total int64
	for _, q := range []string{
		`DELETE FROM greylist_triplet WHERE last_seen < ?`,
		`DELETE FROM greylist_client WHERE last_seen < ?`,
	} {
		res, err := g.db.Write.ExecContext(ctx, q, cut)
		if err != nil {
			return total, fmt.Errorf("greylist: sweep: %w", err)
		}
		n, _ := res.RowsAffected()
		total += n
	}
	return total, nil
}
