package queue

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"strings"
	"time"

	"mailwarden/internal/envelope"
)

// ErrNotFound is returned (wrapped) for a queue id that is not queued.
var ErrNotFound = errors.New("no such queued message")

// Entry is one queued message.
type Entry struct {
	ID          string
	Sender      string
	Size        int64
	Arrival     time.Time
	Held        bool
	NextAttempt time.Time // zero: due now
	Client      string    // "host[ip]" of the SMTP client, "" when local
	AuthUser    string
	EnvID       string // DSN ENVID
	Ret         string // DSN RET: FULL, HDRS or ""
	Warned      bool   // a delay notification was sent
	Body8       bool
	SMTPUTF8    bool
	Rcpts       []Rcpt
	// Env is the envelope as the session left it (client facts, HELO, TLS,
	// protocol, DSN parameters, header edits, verdicts). For a message
	// queued before the queue kept it whole, it is rebuilt from the
	// columns above. Its Header edits are already applied to the queued
	// body file.
	Env *envelope.Envelope
}

// Pending returns the recipients still waiting for delivery.
func (e Entry) Pending() []Rcpt {
	var out []Rcpt
	for _, r := range e.Rcpts {
		if r.pending() {
			out = append(out, r)
		}
	}
	return out
}

const entryCols = `id, sender, size, arrival, held, next_attempt, client, auth_user, envid, ret, warned, body8, smtputf8, envelope`

// entries loads messages (all when id is "") with every recipient, oldest
// first.
func (q *Queue) entries(ctx context.Context, id string) ([]Entry, error) {
	where, args := "", []any{}
	if id != "" {
		where, args = " WHERE id=?", []any{id}
	}
	rows, err := q.db.Read.QueryContext(ctx, `SELECT `+entryCols+` FROM queue_message`+where+` ORDER BY arrival, id`, args...)
	if err != nil {
		return nil, err
	}
	var out []Entry
	byID := map[string]int{}
	for rows.Next() {
		var e Entry
		var arrival, next int64
		var held, warned, body8, utf8 int
		var whole string
		if err := rows.Scan(&e.ID, &e.Sender, &e.Size, &arrival, &held, &next, &e.Client, &e.AuthUser,
			&e.EnvID, &e.Ret, &warned, &body8, &utf8, &whole); err != nil {
			rows.Close()
			return nil, err
		}
		e.Arrival, e.Held, e.Warned, e.Body8, e.SMTPUTF8 = time.Unix(arrival, 0), held == 1, warned == 1, body8 == 1, utf8 == 1
		if next > 0 {
			e.NextAttempt = time.Unix(next, 0)
		}
		e.Env = loadEnvelope(e, whole)
		byID[e.ID] = len(out)
		out = append(out, e)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, nil
	}
	if id != "" {
		where = " WHERE queue_id=?"
	}
	rows, err = q.db.Read.QueryContext(ctx, `SELECT queue_id, rcpt, orcpt, notify, kind, status, attempts, last_error, dsn, relay, last_attempt
		FROM queue_rcpt`+where+` ORDER BY queue_id, rcpt`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var qid string
		var r Rcpt
		var last int64
		if err := rows.Scan(&qid, &r.Address, &r.ORCPT, &r.Notify, &r.Kind, &r.Status, &r.Attempts, &r.LastError,
			&r.DSN, &r.Relay, &last); err != nil {
			return nil, err
		}
		if last > 0 {
			r.LastAttempt = time.Unix(last, 0)
		}
		if i, ok := byID[qid]; ok {
			out[i].Rcpts = append(out[i].Rcpts, r)
		}
	}
	return out, rows.Err()
}

// loadEnvelope decodes the stored envelope, or rebuilds what the columns
// of a row written before the queue kept it whole hold (client host and
// address included).
func loadEnvelope(e Entry, whole string) *envelope.Envelope {
	if whole != "" {
		env := new(envelope.Envelope)
		if err := json.Unmarshal([]byte(whole), env); err == nil {
			return env
		}
	}
	env := &envelope.Envelope{ID: e.ID, From: e.Sender, Received: e.Arrival, AuthUser: e.AuthUser,
		EnvID: e.EnvID, Ret: e.Ret, Body8: e.Body8, SMTPUTF8: e.SMTPUTF8, Size: e.Size}
	// "host[ip]", as Insert writes it.
	if host, rest, ok := strings.Cut(e.Client, "["); ok {
		if ip, err := netip.ParseAddr(strings.TrimSuffix(rest, "]")); err == nil {
			env.ClientIP, env.ClientHost = ip, host
			env.Client.IP, env.Client.Host = ip, host
		}
	}
	env.Client.AuthUser = e.AuthUser
	return env
}

// List returns every queued message with its recipients (in every state),
// oldest first.
func (q *Queue) List(ctx context.Context) ([]Entry, error) {
	es, err := q.entries(ctx, "")
	if err != nil {
		return nil, fmt.Errorf("queue: list: %w", err)
	}
	return es, nil
}

// Entry returns one queued message.
func (q *Queue) Entry(ctx context.Context, id string) (Entry, error) {
	es, err := q.entries(ctx, id)
	if err != nil {
		return Entry{}, fmt.Errorf("queue: %s: %w", id, err)
	}
	if len(es) == 0 {
		return Entry{}, fmt.Errorf("queue: %s: %w", id, ErrNotFound)
	}
	return es[0], nil
}

// Show returns one queued message and its body file (trace header
// included). The caller closes the body.
func (q *Queue) Show(ctx context.Context, id string) (Entry, io.ReadCloser, error) {
	e, err := q.Entry(ctx, id)
	if err != nil {
		return Entry{}, nil, err
	}
	f, err := os.Open(q.Path(id))
	if err != nil {
		return e, nil, fmt.Errorf("queue: %s: %w", id, err)
	}
	return e, f, nil
}

// Delete removes a queued message ("ALL": every one) without notifying
// anyone, like postsuper -d. It returns how many messages were removed.
func (q *Queue) Delete(ctx context.Context, id string) (int, error) {
	ids := []string{id}
	if id == "ALL" {
		es, err := q.entries(ctx, "")
		if err != nil {
			return 0, fmt.Errorf("queue: delete: %w", err)
		}
		ids = ids[:0]
		for _, e := range es {
			ids = append(ids, e.ID)
		}
	}
	n := 0
	for _, id := range ids {
		ok, err := q.remove(ctx, id)
		if err != nil {
			return n, err
		}
		if ok {
			n++
		}
	}
	if id != "ALL" && n == 0 {
		return 0, fmt.Errorf("queue: %s: %w", id, ErrNotFound)
	}
	return n, nil
}

// remove deletes a message's rows, then its body file (a crash in between
// leaves a file without rows, which the runner's sweep removes).
func (q *Queue) remove(ctx context.Context, id string) (bool, error) {
	var n int64
	err := q.db.Batch(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM queue_rcpt WHERE queue_id=?`, id); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM queue_message WHERE id=?`, id)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return false, fmt.Errorf("queue: delete %s: %w", id, err)
	}
	if err := os.Remove(q.Path(id)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return n > 0, fmt.Errorf("queue: delete %s: %w", id, err)
	}
	return n > 0, nil
}

// Hold puts a message on hold ("ALL": every one): the runner skips it
// until Release (postsuper -h).
func (q *Queue) Hold(ctx context.Context, id string) (int, error) {
	return q.update(ctx, "hold", id, `held=1`)
}

// Release takes a message off hold ("ALL": every one) and makes it due
// now (postsuper -H).
func (q *Queue) Release(ctx context.Context, id string) (int, error) {
	return q.update(ctx, "release", id, `held=0, next_attempt=0`)
}

// FlushAll makes every message that is not held due now (postqueue -f).
// A running server notices within its poll interval.
func (q *Queue) FlushAll(ctx context.Context) (int, error) {
	return q.update(ctx, "flush", "ALL", `next_attempt=0`)
}

// Flush makes one message due now (postqueue -i).
func (q *Queue) Flush(ctx context.Context, id string) (int, error) {
	return q.update(ctx, "flush", id, `next_attempt=0`)
}

func (q *Queue) update(ctx context.Context, verb, id, set string) (int, error) {
	query, args := `UPDATE queue_message SET `+set+` WHERE id=?`, []any{id}
	if id == "ALL" {
		query, args = `UPDATE queue_message SET `+set, nil
		if verb == "flush" {
			query += ` WHERE held=0`
		}
	}
	var n int64
	err := q.db.Batch(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, query, args...)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("queue: %s %s: %w", verb, id, err)
	}
	if id != "ALL" && n == 0 {
		return 0, fmt.Errorf("queue: %s: %w", id, ErrNotFound)
	}
	return int(n), nil
}

// validID reports whether id can name a queue file.
func validID(id string) bool {
	return id != "" && id != "ALL" && !strings.ContainsAny(id, "/\\.") && len(id) <= 32
}
