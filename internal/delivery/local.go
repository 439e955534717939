package delivery

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"mailwarden/internal/directory"
	"mailwarden/internal/envelope"
	"mailwarden/internal/event"
	"mailwarden/internal/queue"
	"mailwarden/internal/store"
)

// FolderFunc chooses the folder a local copy is filed into (Sieve and
// spam-to-Junk plug in here). It sees the message (envelope, verdicts,
// body) and the recipient; "" means INBOX. A folder the mailbox does not
// have is replaced by INBOX, as Dovecot's LDA does without
// lda_mailbox_autocreate.
type FolderFunc func(ctx context.Context, msg *Message, rc Routed) (string, error)

// Inbox is the default FolderFunc: every copy goes to INBOX.
func Inbox(context.Context, *Message, Routed) (string, error) { return "INBOX", nil }

// Local is the local store as a Target: the one local delivery path, used
// by the router for SMTP sessions and pickup, and by the queue runner
// through Queued.
type Local struct {
	Store *store.Store
	// Folder picks each copy's folder; nil files into INBOX.
	Folder FolderFunc
	// Dir and Delims resolve queued recipients again (Queued, Route);
	// Delims returns recipient_delimiter, nil means "+".
	Dir    *directory.Directory
	Delims func() string
	// Log receives free-text warnings; nil logs nothing.
	Log *slog.Logger
	// Events receives one Delivery (status=sent) per copy; nil drops them.
	Events event.Publisher
}

// Start implements Target.
func (l *Local) Start(_ context.Context, msg *Message) (Tx, error) {
	return &localTx{l: l, msg: msg}, nil
}

type localTx struct {
	l       *Local
	msg     *Message
	targets []store.Target
	rcpts   []Routed
	size    int64
	pending *store.Pending
}

// AddRcpt checks the mailbox's quota and picks the folder. A full mailbox
// is a DeferError (the copy waits in the queue).
func (t *localTx) AddRcpt(ctx context.Context, rc Routed) error {
	d := rc.Dest
	if d.Kind != directory.Local {
		return fmt.Errorf("delivery: %s is not a local mailbox", d.Address)
	}
	if t.size == 0 {
		t.size = int64(len(t.msg.Trace)) + t.msg.Body.Size()
	}
	if err := t.l.Store.CheckQuota(ctx, d.Mailbox.Username, d.Mailbox.Quota, t.size); err != nil {
		if errors.Is(err, store.ErrOverQuota) {
			return &DeferError{Reason: "552 5.2.2 mailbox full", Err: err}
		}
		return err
	}
	folder, err := t.folder(ctx, rc)
	if err != nil {
		return err
	}
	t.targets = append(t.targets, store.Target{Username: d.Mailbox.Username, Maildir: d.Mailbox.Maildir,
		Folder: folder, DeliveredTo: d.Address})
	t.rcpts = append(t.rcpts, rc)
	return nil
}

func (t *localTx) folder(ctx context.Context, rc Routed) (string, error) {
	pick := t.l.Folder
	if pick == nil {
		return "INBOX", nil
	}
	f, err := pick(ctx, t.msg, rc)
	if err != nil {
		return "", fmt.Errorf("delivery: folder for %s: %w", rc.Dest.Address, err)
	}
	if f == "" || strings.EqualFold(f, "INBOX") {
		return "INBOX", nil
	}
	if err := t.l.Store.EnsureMailbox(ctx, rc.Dest.Mailbox.Username, rc.Dest.Mailbox.Maildir); err != nil {
		return "", err
	}
	ok, err := t.l.Store.HasFolder(ctx, rc.Dest.Mailbox.Username, f)
	if err != nil {
		return "", err
	}
	if !ok {
		if t.l.Log != nil {
			t.l.Log.Warn(t.msg.Env.ID + ": to=<" + rc.Dest.Address + ">: folder " + f + " does not exist, delivered to INBOX")
		}
		return "INBOX", nil
	}
	return f, nil
}

// Body writes and syncs one file per copy (not yet indexed).
func (t *localTx) Body(ctx context.Context, b Body) error {
	if len(t.targets) == 0 {
		return nil
	}
	p, err := t.l.Store.Prepare(ctx, t.msg.Env.From, t.targets, nil, b)
	if err != nil {
		return err
	}
	t.pending = p
	return nil
}

// Commit puts the index rows into g's transaction.
func (t *localTx) Commit(_ context.Context, g *Group) error {
	if t.pending == nil {
		return nil
	}
	g.Exec(t.l.Store.DB(), t.pending.Index)
	g.OnCommit(func() {
		t.pending.Committed()
		t.log()
	})
	return nil
}

func (t *localTx) Abort() {
	if t.pending != nil {
		t.pending.Abort()
	}
}

func (t *localTx) log() {
	if t.l.Events == nil {
		return
	}
	delay := time.Since(received(t.msg.Env))
	size := t.msg.Size()
	for _, rc := range t.rcpts {
		t.l.Events.Publish(&event.Delivery{Program: event.Virtual, QueueID: t.msg.Env.ID, To: rc.Dest.Address,
			OrigTo: origTo(rc), Relay: "local", Delay: delay, DSN: "2.0.0", Status: event.Sent,
			Text: "delivered to maildir", Size: size})
	}
}

func received(env *envelope.Envelope) time.Time {
	if env.Received.IsZero() {
		return time.Now()
	}
	return env.Received
}

// origTo is the orig_to= of a copy: the address the client gave, when an
// alias changed it.
func origTo(rc Routed) string {
	if rc.Rcpt.Address == "" || strings.EqualFold(rc.Rcpt.Address, rc.Dest.Address) {
		return ""
	}
	return rc.Rcpt.Address
}

func (l *Local) delims() string {
	if l.Delims == nil {
		return "+"
	}
	return l.Delims()
}

// Queued is the queue runner's local delivery (a queue.LocalFunc): rcpt
// is resolved again (aliases and extensions included) and one copy goes
// into every local mailbox it names, through the same transaction as a
// direct delivery. body is the queued file (trace and header edits
// already in it). A mailbox still full fails the whole copy, to be
// retried.
func (l *Local) Queued(ctx context.Context, env *envelope.Envelope, rcpt string, body queue.Body) error {
	res, err := l.Dir.Resolve(ctx, rcpt, l.delims())
	if errors.Is(err, directory.ErrUnknownUser) {
		return &queue.LocalError{Code: 550, Enhanced: "5.1.1", Err: errors.New("unknown user: " + rcpt)}
	}
	if err != nil {
		return err
	}
	msg := &Message{Env: env, Body: body}
	for _, d := range res.Destinations {
		if d.Kind == directory.Local {
			msg.Rcpts = append(msg.Rcpts, Routed{Rcpt: envelope.Recipient{Address: rcpt}, Dest: d})
		}
	}
	if len(msg.Rcpts) == 0 {
		return &queue.LocalError{Code: 550, Enhanced: "5.1.1", Err: errors.New("no local mailbox for " + rcpt)}
	}
	quiet := *l
	quiet.Log, quiet.Events = nil, nil // the runner logs the outcome
	tx, _ := quiet.Start(ctx, msg)
	for _, rc := range msg.Rcpts {
		if err := tx.AddRcpt(ctx, rc); err != nil {
			return err // a DeferError wraps store.ErrOverQuota: retried
		}
	}
	return commitAll(ctx, []Tx{tx}, body)
}

// Route sends a notification to a local mailbox through the store
// (queue.KindLocal) and anything else by SMTP (queue.KindRemote): a
// queue.RouteFunc.
func (l *Local) Route(ctx context.Context, addr string) (string, error) {
	res, err := l.Dir.Resolve(ctx, addr, l.delims())
	if errors.Is(err, directory.ErrUnknownUser) {
		return queue.KindLocal, nil // bounces locally: a double bounce, logged
	}
	if err != nil {
		return "", err
	}
	for _, d := range res.Destinations {
		if d.Kind == directory.Local {
			return queue.KindLocal, nil
		}
	}
	return queue.KindRemote, nil
}

// commitAll writes body into every transaction, then commits them as one
// group; on any failure every one is aborted.
func commitAll(ctx context.Context, txs []Tx, body Body) error {
	fail := func(err error) error {
		for _, tx := range txs {
			tx.Abort()
		}
		return err
	}
	for _, tx := range txs {
		if err := tx.Body(ctx, body); err != nil {
			return fail(err)
		}
	}
	g := &Group{}
	for _, tx := range txs {
		if err := tx.Commit(ctx, g); err != nil {
			return fail(err)
		}
	}
	if err := g.run(ctx); err != nil {
		return fail(err)
	}
	return nil
}

// Quarantined wraps a FolderFunc: a message a check quarantined (a
// verdict with Action "quarantine", its Reply naming the folder, e.g.
// DMARC's p=quarantine into "Junk") goes to that folder; others are
// left to next.
func Quarantined(next FolderFunc) FolderFunc {
	return func(ctx context.Context, msg *Message, rc Routed) (string, error) {
		for i := len(msg.Env.Verdicts) - 1; i >= 0; i-- {
			if v := msg.Env.Verdicts[i]; v.Action == "quarantine" && v.Reply != "" {
				return v.Reply, nil
			}
		}
		return next(ctx, msg, rc)
	}
}
