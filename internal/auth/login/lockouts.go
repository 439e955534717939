package login

import (
	"context"
	"database/sql"
	"fmt"
	"net/netip"
	"strings"
	"time"
)

// UserKey is how a user name a login tried is stored and looked up:
// log-safe, lower-case, at most about 100 characters (LogSafe).
func UserKey(username string) string { return strings.ToLower(LogSafe(username)) }

// Lockout is a client refused logins after too many failures
// (`mailwarden login blocked`).
type Lockout struct {
	// Client is what the failures counted against: the IPv4 address, or
	// the IPv6 /64.
	Client netip.Prefix
	Until  time.Time
	// Users are the names its failures tried (UserKey), sorted.
	Users []string
}

// Lockouts lists the clients locked out at now, by client.
func (s *SQLFailures) Lockouts(ctx context.Context, now time.Time) ([]Lockout, error) {
	rows, err := s.db.Read.QueryContext(ctx, `SELECT l.client, l.lock_until, COALESCE(u.username, '')
		FROM login_lock l LEFT JOIN login_lock_user u ON u.client = l.client
		WHERE l.lock_until > ? ORDER BY l.client, u.username`, now.Unix())
	if err != nil {
		return nil, fmt.Errorf("login: list lockouts: %w", err)
	}
	defer rows.Close()
	var out []Lockout
	for rows.Next() {
		var client, user string
		var until int64
		if err := rows.Scan(&client, &until, &user); err != nil {
			return nil, fmt.Errorf("login: list lockouts: %w", err)
		}
		ip, err := netip.ParseAddr(client)
		if err != nil {
			continue // not written by Fail
		}
		if n := len(out); n == 0 || out[n-1].Client.Addr() != ip {
			out = append(out, Lockout{Client: keyPrefix(ip), Until: time.Unix(until, 0)})
		}
		if user != "" {
			l := &out[len(out)-1]
			l.Users = append(l.Users, user)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("login: list lockouts: %w", err)
	}
	return out, nil
}

// keyPrefix is the network a client key stands for: the address, or
// the IPv6 /64 it is the first address of.
func keyPrefix(key netip.Addr) netip.Prefix {
	if key.Is6() {
		return netip.PrefixFrom(key, 64)
	}
	return netip.PrefixFrom(key, key.BitLen())
}

// ClientsTrying lists the clients that tried username (any case) in a
// failed login still counted, or in the failures that locked them out
// (still locked at now or not): what `mailwarden login unblock USER`
// unblocks.
func (s *SQLFailures) ClientsTrying(ctx context.Context, username string) ([]netip.Prefix, error) {
	rows, err := s.db.Read.QueryContext(ctx, `SELECT client FROM login_lock_user WHERE username = ?
		UNION SELECT client FROM login_failure WHERE username = ?`, UserKey(username), UserKey(username))
	if err != nil {
		return nil, fmt.Errorf("login: clients trying %s: %w", LogSafe(username), err)
	}
	defer rows.Close()
	var out []netip.Prefix
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			return nil, fmt.Errorf("login: clients trying %s: %w", LogSafe(username), err)
		}
		if ip, err := netip.ParseAddr(c); err == nil {
			out = append(out, keyPrefix(ip))
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("login: clients trying %s: %w", LogSafe(username), err)
	}
	return out, nil
}

// Prune deletes, at most batch rows of each table at a time, the
// lockouts that ended before now (with the names they kept) and the
// failures older than window, which no longer count (Fail prunes a
// client's old failures only when that client fails again). It returns
// how many rows it deleted and whether rows may be left (a full batch).
func (s *SQLFailures) Prune(ctx context.Context, now time.Time, window time.Duration, batch int) (n int, more bool, err error) {
	if batch <= 0 {
		batch = 500
	}
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		n, more = 0, false
		// Portable: a bounded SELECT of the keys, then DELETEs by key
		// (MySQL refuses LIMIT in an IN subquery of a DELETE).
		ended, err := keys(ctx, tx, `SELECT client FROM login_lock WHERE lock_until <= ? ORDER BY lock_until`, batch, now.Unix())
		if err != nil {
			return fmt.Errorf("login: prune lockouts: %w", err)
		}
		for _, k := range ended {
			// The guards keep a lock another node made meanwhile.
			res, err := tx.ExecContext(ctx, `DELETE FROM login_lock WHERE client = ? AND lock_until <= ?`, k, now.Unix())
			if err != nil {
				return fmt.Errorf("login: prune lockout of %s: %w", k, err)
			}
			c, _ := res.RowsAffected()
			n += int(c)
			res, err = tx.ExecContext(ctx, `DELETE FROM login_lock_user WHERE client = ?
				AND NOT EXISTS (SELECT 1 FROM login_lock WHERE client = ?)`, k, k)
			if err != nil {
				return fmt.Errorf("login: prune lockout of %s: %w", k, err)
			}
			c, _ = res.RowsAffected()
			n += int(c)
		}
		since := now.Add(-window).Unix()
		old, err := keys(ctx, tx, `SELECT DISTINCT client FROM login_failure WHERE failed_at <= ?`, batch, since)
		if err != nil {
			return fmt.Errorf("login: prune failures: %w", err)
		}
		for _, k := range old {
			res, err := tx.ExecContext(ctx, `DELETE FROM login_failure WHERE client = ? AND failed_at <= ?`, k, since)
			if err != nil {
				return fmt.Errorf("login: prune failures of %s: %w", k, err)
			}
			c, _ := res.RowsAffected()
			n += int(c)
		}
		more = len(ended) == batch || len(old) == batch
		return nil
	})
	return n, more, err
}

// keys runs a one-column query with LIMIT batch appended.
func keys(ctx context.Context, tx *sql.Tx, q string, batch int, args ...any) ([]string, error) {
	rows, err := tx.QueryContext(ctx, q+fmt.Sprintf(" LIMIT %d", batch), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			return nil, err
		}
		out = append(out, k)
	}
	return out, rows.Err()
}
