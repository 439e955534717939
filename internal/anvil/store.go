package anvil

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"mailwarden/internal/sqldb"
)

// Store reads and writes the anvil_counter and postscreen_cache tables.
type Store struct {
	db *sqldb.DB
}

// NewStore returns a Store on db.
func NewStore(db *sqldb.DB) *Store { return &Store{db: db} }

// Delta is count events of one client and kind in the window starting at
// Window (Unix seconds) of Unit seconds.
type Delta struct {
	Client string
	Event  string
	Window int64
	Unit   int64
	Count  int64
}

// Totals are the merged counts of a client and kind: in the window asked
// for and in the one before it.
type Totals struct {
	Cur, Prev int64
}

// Add adds every delta to its row (creating it) and returns the merged
// totals of each, all in one transaction.
func (s *Store) Add(ctx context.Context, ds []Delta) ([]Totals, error) {
	out := make([]Totals, len(ds))
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		for i, d := range ds {
			t, err := add(ctx, tx, d)
			if err != nil {
				return err
			}
			out[i] = t
		}
		return nil
	})
	return out, err
}

func add(ctx context.Context, tx *sql.Tx, d Delta) (Totals, error) {
	if d.Count > 0 {
		res, err := tx.ExecContext(ctx, `UPDATE anvil_counter SET count=count+? WHERE client=? AND event=? AND window_start=?`,
			d.Count, d.Client, d.Event, d.Window)
		if err != nil {
			return Totals{}, fmt.Errorf("anvil: count %s %s: %w", d.Event, d.Client, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			if _, err := tx.ExecContext(ctx, `INSERT INTO anvil_counter(client, event, window_start, count, expires) VALUES (?,?,?,?,?)`,
				d.Client, d.Event, d.Window, d.Count, d.Window+2*d.Unit); err != nil {
				return Totals{}, fmt.Errorf("anvil: count %s %s: %w", d.Event, d.Client, err)
			}
		}
	}
	rows, err := tx.QueryContext(ctx, `SELECT window_start, count FROM anvil_counter WHERE client=? AND event=? AND window_start IN (?,?)`,
		d.Client, d.Event, d.Window, d.Window-d.Unit)
	if err != nil {
		return Totals{}, fmt.Errorf("anvil: read %s %s: %w", d.Event, d.Client, err)
	}
	defer rows.Close()
	var t Totals
	for rows.Next() {
		var w, n int64
		if err := rows.Scan(&w, &n); err != nil {
			return Totals{}, fmt.Errorf("anvil: read %s %s: %w", d.Event, d.Client, err)
		}
		if w == d.Window {
			t.Cur = n
		} else {
			t.Prev = n
		}
	}
	return t, rows.Err()
}

// Prune deletes the counter rows and cached verdicts that expired before
// now.
func (s *Store) Prune(ctx context.Context, now time.Time) error {
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM anvil_counter WHERE expires < ?`, now.Unix()); err != nil {
			return fmt.Errorf("anvil: prune counters: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM postscreen_cache WHERE expires < ?`, now.Unix()); err != nil {
			return fmt.Errorf("anvil: prune postscreen cache: %w", err)
		}
		return nil
	})
}

// Forget deletes every counter and cached verdict of the clients in p
// (mailwarden auth unlock, block delete) and returns how many rows went.
func (s *Store) Forget(ctx context.Context, p netip.Prefix) (int64, error) {
	var n int64
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		for _, q := range []string{`SELECT client FROM anvil_counter`, `SELECT client FROM postscreen_cache`} {
			clients, err := clientsIn(ctx, tx, q, p)
			if err != nil {
				return err
			}
			table := "anvil_counter"
			if q == `SELECT client FROM postscreen_cache` {
				table = "postscreen_cache"
			}
			for _, c := range clients {
				res, err := tx.ExecContext(ctx, `DELETE FROM `+table+` WHERE client=?`, c)
				if err != nil {
					return fmt.Errorf("anvil: forget %s: %w", c, err)
				}
				k, _ := res.RowsAffected()
				n += k
			}
		}
		return nil
	})
	return n, err
}

// clientsIn lists the distinct clients of query that lie in p.
func clientsIn(ctx context.Context, tx *sql.Tx, query string, p netip.Prefix) ([]string, error) {
	rows, err := tx.QueryContext(ctx, query)
	if err != nil {
		return nil, fmt.Errorf("anvil: list clients: %w", err)
	}
	defer rows.Close()
	seen := map[string]bool{}
	var out []string
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			return nil, fmt.Errorf("anvil: list clients: %w", err)
		}
		ip, err := netip.ParseAddr(c)
		if err == nil && p.Contains(ip.Unmap()) && !seen[c] {
			seen[c] = true
			out = append(out, c)
		}
	}
	return out, rows.Err()
}

// Remember records that client failed test until expires (postscreen's
// cache; a later verdict replaces an earlier one).
func (s *Store) Remember(ctx context.Context, client, test string, expires time.Time) error {
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE postscreen_cache SET expires=? WHERE client=? AND test=?`, expires.Unix(), client, test)
		if err != nil {
			return fmt.Errorf("anvil: remember %s %s: %w", test, client, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			if _, err := tx.ExecContext(ctx, `INSERT INTO postscreen_cache(client, test, expires) VALUES (?,?,?)`, client, test, expires.Unix()); err != nil {
				return fmt.Errorf("anvil: remember %s %s: %w", test, client, err)
			}
		}
		return nil
	})
}

// Remembered returns until when client is remembered as failing test
// (zero when it is not, or no longer).
func (s *Store) Remembered(ctx context.Context, client, test string, now time.Time) (time.Time, error) {
	var exp int64
	err := s.db.Read.QueryRowContext(ctx, `SELECT expires FROM postscreen_cache WHERE client=? AND test=?`, client, test).Scan(&exp)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return time.Time{}, nil
	case err != nil:
		return time.Time{}, fmt.Errorf("anvil: read %s %s: %w", test, client, err)
	case exp <= now.Unix():
		return time.Time{}, nil
	}
	return time.Unix(exp, 0), nil
}
