package dkim

import (
	"cmp"
	"context"
	"crypto"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"sync"
	"time"

	"mailwarden/internal/sqldb"
)

// Key is one signing key of a domain with its rotation schedule.
type Key struct {
	Domain    string
	Selector  string
	Algorithm Algorithm
	Public    string        // the p= value published in DNS
	Signer    crypto.Signer // the private key
	// Created is when the key was made. It signs from ActiveFrom until
	// RetireAt; its record must stay in DNS until DeleteAt. A zero
	// RetireAt or DeleteAt means not scheduled.
	Created, ActiveFrom, RetireAt, DeleteAt time.Time
}

// State is where a key is in its life, derived from its times.
type State string

const (
	Published State = "published" // in DNS, signing from ActiveFrom
	Active    State = "active"    // signs
	Retired   State = "retired"   // no longer signs; keep the record for mail in flight
	Deleted   State = "deleted"   // withdraw the record; the row goes at the next sweep
)

// StateAt says what the key is at now.
func (k Key) StateAt(now time.Time) State {
	switch {
	case !k.DeleteAt.IsZero() && !now.Before(k.DeleteAt):
		return Deleted
	case !k.RetireAt.IsZero() && !now.Before(k.RetireAt):
		return Retired
	case now.Before(k.ActiveFrom):
		return Published
	}
	return Active
}

// Record is the key's TXT value; RecordName its owner name.
func (k Key) Record() string     { return Record(k.Algorithm, k.Public) }
func (k Key) RecordName() string { return RecordName(k.Selector, k.Domain) }

// ErrNoKey is returned when a domain or selector has no key.
var ErrNoKey = errors.New("dkim: no such key")

// Store keeps the keys in SQL (table dkim_key, migration 0014). Every
// state change is a time in the row, so nodes sharing the database agree
// on which key signs without talking to each other.
type Store struct {
	db  *sqldb.DB
	now func() time.Time

	mu     sync.Mutex
	parsed map[string]parsedKey // domain "\x00" selector → private key
}

type parsedKey struct {
	pem    string
	signer crypto.Signer
}

// NewStore returns the key store of db; now nil means time.Now.
func NewStore(db *sqldb.DB, now func() time.Time) *Store {
	if now == nil {
		now = time.Now
	}
	return &Store{db: db, now: now, parsed: map[string]parsedKey{}}
}

const keyColumns = `domain, selector, algorithm, private_key, public_key, created, active_from, retire_at, delete_at`

// Create makes a key for domain that signs at once, as `dkim keygen`
// does. selector "" picks DefaultSelector. A domain signs with at most
// one key of each type (rsa, ed25519) at a time: when it already has one
// that is active or about to be, Create refuses and says to rotate.
func (s *Store) Create(ctx context.Context, domain, selector string, a Algorithm) (Key, error) {
	domain, err := NormalizeDomain(domain)
	if err != nil {
		return Key{}, err
	}
	if _, err := ParseAlgorithm(string(a)); err != nil {
		return Key{}, err
	}
	keys, err := s.List(ctx, domain)
	if err != nil {
		return Key{}, err
	}
	now := s.now()
	for _, k := range keys {
		st := k.StateAt(now)
		if k.Algorithm.KeyType() == a.KeyType() && (st == Active || st == Published) && k.RetireAt.IsZero() {
			return Key{}, fmt.Errorf("dkim: %s already has a %s key (selector %s, %s): use `mailwarden dkim rotate %s --algo %s` to replace it",
				domain, a.KeyType(), k.Selector, st, domain, a)
		}
	}
	k, err := s.newKey(domain, selector, a, now, keys)
	if err != nil {
		return Key{}, err
	}
	k.ActiveFrom = now
	if err := s.private(); err != nil {
		return Key{}, err
	}
	if err := s.db.Tx(ctx, func(tx *sql.Tx) error { return insertKey(ctx, tx, k) }); err != nil {
		return Key{}, err
	}
	return k, nil
}

func (s *Store) newKey(domain, selector string, a Algorithm, now time.Time, existing []Key) (Key, error) {
	taken := func(sel string) bool {
		return slices.ContainsFunc(existing, func(k Key) bool { return k.Selector == sel })
	}
	if selector == "" {
		selector = DefaultSelector(a, now, taken)
	} else if err := CheckSelector(selector); err != nil {
		return Key{}, err
	} else if taken(selector) {
		return Key{}, fmt.Errorf("dkim: %s already has a key with selector %s", domain, selector)
	}
	signer, err := a.Generate()
	if err != nil {
		return Key{}, err
	}
	pub, err := PublicValue(signer)
	if err != nil {
		return Key{}, err
	}
	return Key{Domain: domain, Selector: selector, Algorithm: a, Public: pub, Signer: signer, Created: now}, nil
}

func insertKey(ctx context.Context, tx *sql.Tx, k Key) error {
	priv, err := EncodePrivateKey(k.Signer)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO dkim_key (`+keyColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		k.Domain, k.Selector, string(k.Algorithm), priv, k.Public,
		k.Created.Unix(), k.ActiveFrom.Unix(), unix(k.RetireAt), unix(k.DeleteAt))
	if err != nil {
		return fmt.Errorf("dkim: store key %s/%s: %w", k.Domain, k.Selector, err)
	}
	return nil
}

func unix(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.Unix()
}

func fromUnix(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(n, 0)
}

// Rotation is one key replaced by Rotate: New is published now and signs
// from New.ActiveFrom; Old stop signing then and leave DNS at DeleteAt.
type Rotation struct {
	New Key
	Old []Key
}

// Rotate starts replacing the keys domain signs with: for each key type
// (only algo's when algo is not ""), a new key is made that signs after
// publish (time for its record to reach DNS), when the current keys of
// that type retire; those stay listed until retire later, so that mail
// signed before the switch still verifies where it arrives late.
// selector "" picks DefaultSelector.
func (s *Store) Rotate(ctx context.Context, domain string, algo Algorithm, selector string, publish, retire time.Duration) ([]Rotation, error) {
	domain, err := NormalizeDomain(domain)
	if err != nil {
		return nil, err
	}
	if publish < 0 || retire < 0 {
		return nil, errors.New("dkim: rotation delays must not be negative")
	}
	keys, err := s.List(ctx, domain)
	if err != nil {
		return nil, err
	}
	now := s.now()
	switchAt := now.Add(publish)
	// The keys to replace, by key type, with the algorithm of the newest.
	var types []string
	algos := map[string]Algorithm{}
	old := map[string][]Key{}
	for _, k := range keys {
		st := k.StateAt(now)
		t := k.Algorithm.KeyType()
		if algo != "" && t != algo.KeyType() {
			continue
		}
		if st != Active && st != Published || !k.RetireAt.IsZero() && !k.RetireAt.After(switchAt) {
			continue // gone, or already leaving before the new key takes over
		}
		if _, ok := algos[t]; !ok {
			types = append(types, t)
		}
		algos[t] = k.Algorithm
		old[t] = append(old[t], k)
	}
	if len(types) == 0 {
		if algo != "" {
			return nil, fmt.Errorf("dkim: %s has no %s key to rotate: create one with `mailwarden dkim keygen %s --algo %s`", domain, algo.KeyType(), domain, algo)
		}
		return nil, fmt.Errorf("dkim: %s has no key to rotate: create one with `mailwarden dkim keygen %s`", domain, domain)
	}
	slices.SortFunc(types, func(a, b string) int { return cmp.Compare(typeRank(Algorithm(a)), typeRank(Algorithm(b))) })
	if selector != "" && len(types) > 1 {
		return nil, errors.New("dkim: --selector names one new key: give --algo too")
	}
	if err := s.private(); err != nil {
		return nil, err
	}
	var out []Rotation
	for _, t := range types {
		a := algos[t]
		if algo != "" {
			a = algo
		}
		nk, err := s.newKey(domain, selector, a, now, append(keys, newKeys(out)...))
		if err != nil {
			return nil, err
		}
		nk.ActiveFrom = switchAt
		r := Rotation{New: nk}
		for _, k := range old[t] {
			k.RetireAt, k.DeleteAt = switchAt, switchAt.Add(retire)
			r.Old = append(r.Old, k)
		}
		out = append(out, r)
	}
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		for _, r := range out {
			if err := insertKey(ctx, tx, r.New); err != nil {
				return err
			}
			for _, k := range r.Old {
				if _, err := tx.ExecContext(ctx, `UPDATE dkim_key SET retire_at = ?, delete_at = ? WHERE domain = ? AND selector = ?`,
					unix(k.RetireAt), unix(k.DeleteAt), k.Domain, k.Selector); err != nil {
					return fmt.Errorf("dkim: schedule retirement of %s/%s: %w", k.Domain, k.Selector, err)
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func newKeys(rs []Rotation) []Key {
	var ks []Key
	for _, r := range rs {
		ks = append(ks, r.New)
	}
	return ks
}

// Active returns the keys that sign domain's mail now, RSA before
// Ed25519 (RFC 8463 dual signing: both sign when both exist). The
// ARC sealer may take its key from here too.
func (s *Store) Active(ctx context.Context, domain string) ([]Key, error) {
	now := s.now().Unix()
	keys, err := s.query(ctx, `SELECT `+keyColumns+` FROM dkim_key
		WHERE domain = ? AND active_from <= ? AND (retire_at = 0 OR retire_at > ?)`, domain, now, now)
	if err != nil {
		return nil, err
	}
	slices.SortStableFunc(keys, func(a, b Key) int {
		if c := cmp.Compare(typeRank(a.Algorithm), typeRank(b.Algorithm)); c != 0 {
			return c
		}
		return b.ActiveFrom.Compare(a.ActiveFrom) // newest first
	})
	return keys, nil
}

func typeRank(a Algorithm) int {
	if a.KeyType() == "rsa" {
		return 0
	}
	return 1
}

// Get returns the key of domain and selector, ErrNoKey when there is none.
func (s *Store) Get(ctx context.Context, domain, selector string) (Key, error) {
	keys, err := s.query(ctx, `SELECT `+keyColumns+` FROM dkim_key WHERE domain = ? AND selector = ?`, domain, selector)
	if err != nil {
		return Key{}, err
	}
	if len(keys) == 0 {
		return Key{}, fmt.Errorf("%w for %s selector %s", ErrNoKey, domain, selector)
	}
	return keys[0], nil
}

// List returns the keys of domain ("" for every domain), by domain then
// age.
func (s *Store) List(ctx context.Context, domain string) ([]Key, error) {
	if domain == "" {
		return s.query(ctx, `SELECT `+keyColumns+` FROM dkim_key ORDER BY domain, created, selector`)
	}
	return s.query(ctx, `SELECT `+keyColumns+` FROM dkim_key WHERE domain = ? ORDER BY created, selector`, domain)
}

// Sweep deletes the keys whose DeleteAt has passed and returns them.
func (s *Store) Sweep(ctx context.Context) ([]Key, error) {
	now := s.now().Unix()
	gone, err := s.query(ctx, `SELECT `+keyColumns+` FROM dkim_key WHERE delete_at > 0 AND delete_at <= ?`, now)
	if err != nil || len(gone) == 0 {
		return nil, err
	}
	if _, err := s.db.Write.ExecContext(ctx, `DELETE FROM dkim_key WHERE delete_at > 0 AND delete_at <= ?`, now); err != nil {
		return nil, fmt.Errorf("dkim: sweep keys: %w", err)
	}
	return gone, nil
}

func (s *Store) query(ctx context.Context, q string, args ...any) ([]Key, error) {
	rows, err := s.db.Read.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("dkim: read keys: %w", err)
	}
	defer rows.Close()
	var out []Key
	for rows.Next() {
		var k Key
		var algo, priv string
		var created, active, retire, del int64
		if err := rows.Scan(&k.Domain, &k.Selector, &algo, &priv, &k.Public, &created, &active, &retire, &del); err != nil {
			return nil, fmt.Errorf("dkim: read keys: %w", err)
		}
		k.Algorithm = Algorithm(algo)
		k.Created, k.ActiveFrom, k.RetireAt, k.DeleteAt = fromUnix(created), time.Unix(active, 0), fromUnix(retire), fromUnix(del)
		if k.Signer, err = s.parse(k.Domain, k.Selector, priv); err != nil {
			return nil, fmt.Errorf("dkim: key %s/%s: %w", k.Domain, k.Selector, err)
		}
		out = append(out, k)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("dkim: read keys: %w", err)
	}
	return out, nil
}

// parse returns the private key in priv, parsed once per process.
func (s *Store) parse(domain, selector, priv string) (crypto.Signer, error) {
	id := domain + "\x00" + selector
	s.mu.Lock()
	p, ok := s.parsed[id]
	s.mu.Unlock()
	if ok && p.pem == priv {
		return p.signer, nil
	}
	k, err := ParsePrivateKey([]byte(priv))
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.parsed[id] = parsedKey{priv, k}
	s.mu.Unlock()
	return k, nil
}

// private makes sure the database files (and SQLite's WAL and shared
// memory files beside them) are readable by their owner only before a
// private key goes in: serve runs with umask 077, a tool or test might
// not.
func (s *Store) private() error {
	if s.db.Path == "" {
		return nil
	}
	for _, p := range []string{s.db.Path, s.db.Path + "-wal", s.db.Path + "-shm"} {
		fi, err := os.Stat(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("dkim: key store: %w", err)
		}
		if m := fi.Mode().Perm(); m&0o077 != 0 {
			if err := os.Chmod(p, m&^0o077); err != nil {
				return fmt.Errorf("dkim: key store %s is readable by others and cannot be made private: %w", p, err)
			}
		}
	}
	return nil
}
