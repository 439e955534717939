package login

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"mailwarden/internal/event"
	"mailwarden/internal/sqldb"
)

// Failures is where failed logins are counted and lockouts kept when
// several nodes must agree on them (SQLFailures). Without one, an
// Authenticator counts in process memory. Attempts still running are
// always counted in memory: they are this process's.
type Failures interface {
	// State returns until when key is locked out (zero: it is not) and
	// how many failures it had after since.
	State(ctx context.Context, key netip.Addr, now, since time.Time) (until time.Time, failures int, err error)
	// Fail records a failure of key, trying username, at now; when that
	// makes max failures within window it locks key until now+window,
	// forgets its failures (keeping the names they tried with the lock)
	// and reports true.
	Fail(ctx context.Context, key netip.Addr, username string, now time.Time, max int, window time.Duration) (bool, error)
}

// SetFailures makes a count failures and lockouts in f (shared by every
// node) instead of process memory. Call it before the first login.
func (a *Authenticator) SetFailures(f Failures) {
	a.mu.Lock()
	a.shared = f
	a.mu.Unlock()
}

// SetEvents makes a publish an event.AuthLockout whenever a client
// reaches the failure limit (automatic blocking and metrics listen).
func (a *Authenticator) SetEvents(p event.Publisher) {
	a.mu.Lock()
	a.events = p
	a.mu.Unlock()
}

// sharedTimeout bounds one SQL step of the failure count.
const sharedTimeout = 5 * time.Second

// beginShared is begin with the failures and the lockout in a.shared:
// refused while the client is locked out or its failures and attempts in
// progress number max. A database error refuses too, as a temporary
// failure (the client may try again; a guess is never let through
// uncounted).
func (a *Authenticator) beginShared(ctx context.Context, f Failures, max int, window time.Duration, key netip.Addr) (uint64, bool, error) {
	now := a.clock()
	ctx, cancel := context.WithTimeout(ctx, sharedTimeout)
	defer cancel()
	until, n, err := f.State(ctx, key, now, now.Add(-window))
	if err != nil {
		return 0, false, &tempError{err}
	}
	if now.Before(until) || n >= max {
		return 0, false, nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	id, ok := a.ips.begin(key, now, max-n, window)
	return id, ok, nil
}

// failShared records attempt id of key as failed in a.shared.
func (a *Authenticator) failShared(ctx context.Context, f Failures, key netip.Addr, user string, id uint64, max int, window time.Duration) bool {
	a.releaseAttempt(key, id)
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), sharedTimeout)
	defer cancel()
	locked, err := f.Fail(ctx, key, user, a.clock(), max, window)
	if err != nil {
		a.log.Warn("auth: cannot record a failed login of " + IPString(key) + ": " + err.Error())
	}
	return locked
}

func (a *Authenticator) clock() time.Time {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.now()
}

// SQLFailures keeps failed logins (login_failure) and lockouts
// (login_lock) in SQL, in portable statements.
type SQLFailures struct {
	db *sqldb.DB
}

// NewSQLFailures returns the SQL failure store of db.
func NewSQLFailures(db *sqldb.DB) *SQLFailures { return &SQLFailures{db: db} }

// State implements Failures.
func (s *SQLFailures) State(ctx context.Context, key netip.Addr, now, since time.Time) (time.Time, int, error) {
	k := key.String()
	var until int64
	err := s.db.Read.QueryRowContext(ctx, `SELECT lock_until FROM login_lock WHERE client=?`, k).Scan(&until)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, 0, fmt.Errorf("login: read lockout of %s: %w", k, err)
	}
	var t time.Time
	if until > now.Unix() {
		t = time.Unix(until, 0)
	}
	var n int
	if err := s.db.Read.QueryRowContext(ctx, `SELECT COUNT(*) FROM login_failure WHERE client=? AND failed_at > ?`,
		k, since.Unix()).Scan(&n); err != nil {
		return time.Time{}, 0, fmt.Errorf("login: count failures of %s: %w", k, err)
	}
	return t, n, nil
}

// Fail implements Failures. Old rows of key go in the same transaction,
// so the table holds no more than the failures within one window.
func (s *SQLFailures) Fail(ctx context.Context, key netip.Addr, username string, now time.Time, max int, window time.Duration) (bool, error) {
	k := key.String()
	user := UserKey(username)
	since := now.Add(-window).Unix()
	locked := false
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM login_failure WHERE client=? AND failed_at <= ?`, k, since); err != nil {
			return fmt.Errorf("login: prune failures of %s: %w", k, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO login_failure(client, failed_at, username) VALUES (?,?,?)`, k, now.Unix(), user); err != nil {
			return fmt.Errorf("login: record failure of %s: %w", k, err)
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM login_failure WHERE client=?`, k).Scan(&n); err != nil {
			return fmt.Errorf("login: count failures of %s: %w", k, err)
		}
		if n < max {
			return nil
		}
		locked = true
		if _, err := tx.ExecContext(ctx, `DELETE FROM login_lock_user WHERE client=?`, k); err != nil {
			return fmt.Errorf("login: lock %s: %w", k, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO login_lock_user(client, username)
			SELECT DISTINCT client, username FROM login_failure WHERE client=? AND username <> ''`, k); err != nil {
			return fmt.Errorf("login: lock %s: %w", k, err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM login_failure WHERE client=?`, k); err != nil {
			return fmt.Errorf("login: lock %s: %w", k, err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM login_lock WHERE client=?`, k); err != nil {
			return fmt.Errorf("login: lock %s: %w", k, err)
		}
		// Whole seconds, rounded up: the lockout lasts at least window.
		if _, err := tx.ExecContext(ctx, `INSERT INTO login_lock(client, lock_until) VALUES (?,?)`,
			k, now.Add(window+time.Second-1).Unix()); err != nil {
			return fmt.Errorf("login: lock %s: %w", k, err)
		}
		return nil
	})
	return locked, err
}

// Unlock lifts the lockout and forgets the failures of every client key
// in p (an address, or the IPv6 /64 a login is counted against; see
// KeyOf), and returns how many clients it touched.
func (s *SQLFailures) Unlock(ctx context.Context, p netip.Prefix) (int, error) {
	var n int
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		keys := map[string]bool{}
		for _, q := range []string{`SELECT client FROM login_failure`, `SELECT client FROM login_lock`} {
			rows, err := tx.QueryContext(ctx, q)
			if err != nil {
				return fmt.Errorf("login: unlock: %w", err)
			}
			for rows.Next() {
				var c string
				if err := rows.Scan(&c); err != nil {
					rows.Close()
					return fmt.Errorf("login: unlock: %w", err)
				}
				if ip, err := netip.ParseAddr(c); err == nil && (p.Contains(ip) || ip.Is6() && p.Addr().Is6() && KeyOf(p.Addr()) == ip) {
					keys[c] = true
				}
			}
			rows.Close()
		}
		for k := range keys {
			for _, q := range []string{`DELETE FROM login_failure WHERE client=?`, `DELETE FROM login_lock WHERE client=?`,
				`DELETE FROM login_lock_user WHERE client=?`} {
				if _, err := tx.ExecContext(ctx, q, k); err != nil {
					return fmt.Errorf("login: unlock %s: %w", k, err)
				}
			}
		}
		n = len(keys)
		return nil
	})
	return n, err
}

// KeyOf is the client key failed logins of ip count against: the IPv4
// address, or the IPv6 /64 it is in (as an address, the /64's first).
func KeyOf(ip netip.Addr) netip.Addr { return clientKey(ip) }
