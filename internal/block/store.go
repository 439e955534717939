package block

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"mailwarden/internal/sqldb"
)

// ErrNotFound is Delete of a network that is not blocked.
var ErrNotFound = errors.New("block: no such block")

// Store reads and writes the client_block table (portable SQL: plain
// INSERT/UPDATE/DELETE with ? placeholders, times as Unix seconds).
type Store struct {
	db *sqldb.DB
}

// NewStore returns a Store on db.
func NewStore(db *sqldb.DB) *Store { return &Store{db: db} }

// Add blocks e.Prefix (see ParsePrefix for its form) from e.Created (now
// when zero) until e.Expires (zero: permanent), replacing the reason and
// expiry of an existing block of the same network.
func (s *Store) Add(ctx context.Context, e Entry) error {
	if !e.Prefix.IsValid() {
		return errors.New("block: invalid network")
	}
	if err := CheckReason(e.Reason); err != nil {
		return err
	}
	p := e.Prefix.Masked().String()
	if e.Created.IsZero() {
		e.Created = time.Now()
	}
	var exp int64
	if !e.Expires.IsZero() {
		// Whole seconds, rounded up: a block lasts at least as asked.
		exp = e.Expires.Add(time.Second - 1).Unix()
	}
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE client_block SET reason=?, created=?, expires=? WHERE prefix=?`,
			e.Reason, e.Created.Unix(), exp, p)
		if err != nil {
			return fmt.Errorf("block: add %s: %w", p, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			if _, err := tx.ExecContext(ctx, `INSERT INTO client_block(prefix, reason, created, expires) VALUES (?,?,?,?)`,
				p, e.Reason, e.Created.Unix(), exp); err != nil {
				return fmt.Errorf("block: add %s: %w", p, err)
			}
		}
		return bump(ctx, tx)
	})
}

// Delete lifts the block of exactly p (ErrNotFound when there is none).
func (s *Store) Delete(ctx context.Context, p netip.Prefix) error {
	ps := p.Masked().String()
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM client_block WHERE prefix=?`, ps)
		if err != nil {
			return fmt.Errorf("block: delete %s: %w", ps, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("%w: %s", ErrNotFound, ps)
		}
		return bump(ctx, tx)
	})
}

// bump moves the change counter readers poll, in the change's transaction.
func bump(ctx context.Context, tx *sql.Tx) error {
	if _, err := tx.ExecContext(ctx, `UPDATE client_block_serial SET serial=serial+1 WHERE id=1`); err != nil {
		return fmt.Errorf("block: bump serial: %w", err)
	}
	return nil
}

// Serial is the change counter: it differs from an earlier reading iff
// blocks were added or deleted since.
func (s *Store) Serial(ctx context.Context) (int64, error) {
	var n int64
	if err := s.db.Read.QueryRowContext(ctx, `SELECT serial FROM client_block_serial WHERE id=1`).Scan(&n); err != nil {
		return 0, fmt.Errorf("block: read serial: %w", err)
	}
	return n, nil
}

// Load reads every block (expired ones included) and the serial they
// belong to, in one read transaction.
func (s *Store) Load(ctx context.Context) (*Set, int64, error) {
	tx, err := s.db.Read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, 0, fmt.Errorf("block: load: %w", err)
	}
	defer tx.Rollback()
	var serial int64
	if err := tx.QueryRowContext(ctx, `SELECT serial FROM client_block_serial WHERE id=1`).Scan(&serial); err != nil {
		return nil, 0, fmt.Errorf("block: read serial: %w", err)
	}
	rows, err := tx.QueryContext(ctx, `SELECT prefix, reason, created, expires FROM client_block`)
	if err != nil {
		return nil, 0, fmt.Errorf("block: load: %w", err)
	}
	defer rows.Close()
	var es []Entry
	for rows.Next() {
		var ps, reason string
		var created, expires int64
		if err := rows.Scan(&ps, &reason, &created, &expires); err != nil {
			return nil, 0, fmt.Errorf("block: load: %w", err)
		}
		p, err := netip.ParsePrefix(ps)
		if err != nil {
			return nil, 0, fmt.Errorf("block: bad network %q in client_block: %w", ps, err)
		}
		e := Entry{Prefix: p, Reason: reason, Created: time.Unix(created, 0)}
		if expires != 0 {
			e.Expires = time.Unix(expires, 0)
		}
		es = append(es, e)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("block: load: %w", err)
	}
	return NewSet(es), serial, nil
}

// Prune deletes at most batch blocks that expired at or before before
// (permanent ones never), moving the change counter when it deletes any.
// It returns how many it deleted and whether more may be left (a full
// batch). Expired blocks no longer apply; pruning only keeps the table
// and every server's in-memory Set from growing with them.
func (s *Store) Prune(ctx context.Context, before time.Time, batch int) (n int, more bool, err error) {
	if batch <= 0 {
		batch = 500
	}
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		n = 0
		// Portable: a bounded SELECT, then DELETEs by key (MySQL refuses
		// LIMIT in an IN subquery of a DELETE).
		rows, err := tx.QueryContext(ctx, fmt.Sprintf(`SELECT prefix FROM client_block
			WHERE expires <> 0 AND expires <= ? ORDER BY expires LIMIT %d`, batch), before.Unix())
		if err != nil {
			return fmt.Errorf("block: prune: %w", err)
		}
		var ps []string
		for rows.Next() {
			var p string
			if err := rows.Scan(&p); err != nil {
				rows.Close()
				return fmt.Errorf("block: prune: %w", err)
			}
			ps = append(ps, p)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("block: prune: %w", err)
		}
		more = len(ps) == batch
		for _, p := range ps {
			// The guard keeps a block re-added meanwhile.
			res, err := tx.ExecContext(ctx, `DELETE FROM client_block WHERE prefix = ? AND expires <> 0 AND expires <= ?`, p, before.Unix())
			if err != nil {
				return fmt.Errorf("block: prune %s: %w", p, err)
			}
			c, _ := res.RowsAffected()
			n += int(c)
		}
		if n == 0 {
			return nil
		}
		return bump(ctx, tx)
	})
	return n, more, err
}
