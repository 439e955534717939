package queue

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"mailwarden/internal/envelope"
	"mailwarden/internal/sqldb"
)

// Kinds of queued recipients.
const (
	KindRemote = "remote" // to another MTA
	KindRelay  = "relay"  // backup MX: for the domain's primary
	KindLocal  = "local"  // a local mailbox that could not take it now (e.g. full)
)

// Recipient states.
const (
	StatusQueued   = "queued"   // not tried yet
	StatusDeferred = "deferred" // tried, temporary failure: retried later
	StatusSent     = "sent"     // delivered
	StatusBounced  = "bounced"  // failed for good: reported to the sender
)

// Rcpt is one queued recipient.
type Rcpt struct {
	Address   string
	ORCPT     string
	Notify    string // comma-separated DSN NOTIFY values
	Kind      string
	LastError string
	// Action is the DSN action of a success notice ("delivered",
	// "relayed"); set only while one is built, never stored.
	Action string

	// Filled in by List and Show; ignored by Enqueue.
	Status      string
	Attempts    int
	DSN         string // enhanced status code of the last attempt
	Relay       string // host that gave it, "none" when none answered
	LastAttempt time.Time
}

// pending reports whether the recipient still waits for delivery.
func (r Rcpt) pending() bool { return r.Status == StatusQueued || r.Status == StatusDeferred }

// Body is a message body that can be read more than once.
type Body interface {
	Reader() io.Reader
	Size() int64
}

// Queue is the queue of one data directory.
type Queue struct {
	db    *sqldb.DB
	dir   string
	fsync bool
	// kick, when set (by NewRunner), is called after every Enqueue.
	kick atomic.Pointer[func()]
}

// New returns the queue whose files live in dir.
func New(db *sqldb.DB, dir string, fsync bool) (*Queue, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("queue: %w", err)
	}
	return &Queue{db: db, dir: dir, fsync: fsync}, nil
}

// Enqueue stores a message for rcpts durably: the body file is written and
// fsync'd, then the envelope rows are committed. It is Prepare, then
// Insert in a transaction of its own, then Committed.
func (q *Queue) Enqueue(ctx context.Context, env *envelope.Envelope, trace []byte, body Body, rcpts []Rcpt) error {
	p, err := q.Prepare(ctx, env, trace, body, rcpts)
	if err != nil {
		return err
	}
	if err := q.db.Batch(ctx, func(tx *sql.Tx) error { return p.Insert(ctx, tx) }); err != nil {
		p.Abort()
		return fmt.Errorf("queue: enqueue %s: %w", env.ID, err)
	}
	p.Committed()
	return nil
}

// DB is the database the queue lives in: a caller that commits Pending
// rows together with others must use this one.
func (q *Queue) DB() *sqldb.DB { return q.db }

// Pending is a message whose body file is written and synced but whose
// rows are not committed: the caller runs Insert inside a write
// transaction (which may carry the store's index rows of the same
// message's local copies, so that all copies become durable together),
// then Committed when it committed or Abort when it did not. A crash in
// between leaves a body file without rows, which the sweep removes.
type Pending struct {
	q     *Queue
	env   *envelope.Envelope
	rcpts []Rcpt
	path  string
	size  int64
	// Held puts the message on hold (postsuper -h) as it is queued: Hold
	// verdicts. Set it before Insert.
	Held bool
}

// Prepare writes the body file of a message for rcpts (trace, then
// body), fsync'd, without any row.
func (q *Queue) Prepare(ctx context.Context, env *envelope.Envelope, trace []byte, body Body, rcpts []Rcpt) (*Pending, error) {
	if !validID(env.ID) {
		return nil, fmt.Errorf("queue: bad queue id %q", env.ID)
	}
	path := filepath.Join(q.dir, env.ID)
	size, err := q.writeBody(path, trace, body)
	if err != nil {
		return nil, fmt.Errorf("queue: write %s: %w", env.ID, err)
	}
	return &Pending{q: q, env: env, rcpts: rcpts, path: path, size: size}, nil
}

// Insert adds the message's rows inside tx (a transaction on DB's write
// side), the whole envelope included.
func (p *Pending) Insert(ctx context.Context, tx *sql.Tx) error {
	env := p.env
	client := ""
	if env.ClientIP.IsValid() {
		client = env.ClientHost + "[" + env.ClientIP.String() + "]"
	}
	whole, err := json.Marshal(env)
	if err != nil {
		return fmt.Errorf("queue: envelope of %s: %w", env.ID, err)
	}
	// next_attempt 0: due at once.
	if _, err := tx.ExecContext(ctx, `INSERT INTO queue_message(id, sender, size, arrival, client, auth_user, envid, ret, held, next_attempt, body8, smtputf8, envelope)
		VALUES (?,?,?,?,?,?,?,?,?,0,?,?,?)`, env.ID, env.From, p.size, env.Received.Unix(), client, env.AuthUser, env.EnvID, env.Ret,
		b2i(p.Held), b2i(env.Body8), b2i(env.SMTPUTF8), string(whole)); err != nil {
		return fmt.Errorf("queue: insert %s: %w", env.ID, err)
	}
	for _, r := range p.rcpts {
		if _, err := tx.ExecContext(ctx, `INSERT INTO queue_rcpt(queue_id, rcpt, orcpt, notify, kind, status, last_error)
			VALUES (?,?,?,?,?,'queued',?) ON CONFLICT(queue_id, rcpt) DO NOTHING`, env.ID, r.Address, r.ORCPT, r.Notify, r.Kind, r.LastError); err != nil {
			return fmt.Errorf("queue: insert %s: %w", env.ID, err)
		}
	}
	return nil
}

// Committed wakes the runner after Insert's transaction committed.
func (p *Pending) Committed() {
	if k := p.q.kick.Load(); k != nil && !p.Held {
		(*k)()
	}
}

// Abort removes the body file of a message whose rows were not committed.
func (p *Pending) Abort() {
	if p.path != "" {
		os.Remove(p.path)
		p.path = ""
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func (q *Queue) writeBody(path string, trace []byte, body Body) (int64, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return 0, err
	}
	fail := func(err error) (int64, error) {
		f.Close()
		os.Remove(path)
		return 0, err
	}
	if _, err := f.Write(trace); err != nil {
		return fail(err)
	}
	n, err := io.Copy(f, body.Reader())
	if err != nil {
		return fail(err)
	}
	if q.fsync {
		if err := f.Sync(); err != nil {
			return fail(err)
		}
	}
	if err := f.Close(); err != nil {
		os.Remove(path)
		return 0, err
	}
	if q.fsync {
		d, err := os.Open(q.dir)
		if err != nil {
			return 0, err
		}
		err = d.Sync()
		d.Close()
		if err != nil {
			return 0, err
		}
	}
	return int64(len(trace)) + n, nil
}

// Path returns the body file of a queued message.
func (q *Queue) Path(id string) string {
	return filepath.Join(q.dir, strings.ReplaceAll(id, "/", ""))
}
