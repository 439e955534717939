package queue

import (
	"context"
	"log/slog"
	"mailwarden/internal/event"
	"sync"
	"time"

	"mailwarden/internal/config"
	"mailwarden/internal/dnsx"
	"mailwarden/internal/envelope"
)

// LocalFunc delivers one queued copy to a local mailbox. env is the
// envelope as queued, without header edits (they are applied to body
// already); body holds the whole message as queued (trace header
// included). It returns nil when the
// copy is durable, a *LocalError to say exactly what failed, an error
// wrapping store.ErrOverQuota for a full mailbox (retried), or any other
// error (retried as a temporary failure).
type LocalFunc func(ctx context.Context, env *envelope.Envelope, rcpt string, body Body) error

// RouteFunc tells where a notification to addr goes: KindLocal or
// KindRemote.
type RouteFunc func(ctx context.Context, addr string) (kind string, err error)

// LocalError is a local delivery failure with an SMTP-like status.
type LocalError struct {
	Code     int    // 4xx: retry; 5xx: bounce
	Enhanced string // RFC 3463, e.g. "5.1.1"
	Err      error
}

func (e *LocalError) Error() string { return e.Err.Error() }
func (e *LocalError) Unwrap() error { return e.Err }

// RunnerOptions configure a Runner. Zero durations and limits take the
// Postfix-like defaults named in each comment.
type RunnerOptions struct {
	// Config returns the current configuration (hostname, [outbound]).
	Config func() *config.Config
	// Resolver finds MX hosts for remote and relay recipients.
	Resolver dnsx.Resolver
	// Local retries kind "local" recipients; nil defers them.
	Local LocalFunc
	// Route decides how notifications reach the original sender; nil
	// sends every one as kind "remote".
	Route RouteFunc
	// Logger receives the Postfix-style lines; nil discards.
	Logger *slog.Logger
	// Events receives the typed mail events (deliveries, DSNs, removed);
	// nil drops them.
	Events event.Publisher
	// Now is the clock (tests); nil means time.Now.
	Now func() time.Time

	// MinBackoff is the first retry delay and the least delay between
	// attempts (minimal_backoff_time: 5m); MaxBackoff the most
	// (maximal_backoff_time: 4000s). The delay is the message's age
	// within those bounds, so it doubles from one attempt to the next.
	MinBackoff, MaxBackoff time.Duration
	// MaxLifetime is how long a message is retried before it is returned
	// (maximal_queue_lifetime: 5d); BounceLifetime the same for
	// notifications, which have a null sender (bounce_queue_lifetime: 5d).
	MaxLifetime, BounceLifetime time.Duration
	// DelayWarning, when positive, sends one delay notification once a
	// message is that old and still undelivered (delay_warning_time: off).
	DelayWarning time.Duration
	// DestinationConcurrency bounds parallel deliveries to one
	// destination (default_destination_concurrency_limit: 20);
	// Concurrency bounds them in all (default_process_limit: 100).
	DestinationConcurrency, Concurrency int
	// PollInterval is how often the database is checked for due messages
	// (also what a "queue flush" from another process waits at most): 5s.
	PollInterval time.Duration
	// StopTimeout is how long Run waits for deliveries in flight after
	// its context is canceled before cutting them off: 30s.
	StopTimeout time.Duration
}

func (o *RunnerOptions) defaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.MinBackoff, 5*time.Minute)
	def(&o.MaxBackoff, 4000*time.Second)
	def(&o.MaxLifetime, 5*24*time.Hour)
	def(&o.BounceLifetime, 5*24*time.Hour)
	def(&o.PollInterval, 5*time.Second)
	def(&o.StopTimeout, 30*time.Second)
	if o.DestinationConcurrency <= 0 {
		o.DestinationConcurrency = 20
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 100
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Config == nil {
		o.Config = config.Default
	}
}

// Runner delivers queued messages: it picks the due ones, hands each
// destination's recipients to the SMTP client (or the local store), records
// the results, retries with backoff and returns what fails as DSNs.
type Runner struct {
	q *Queue
	o RunnerOptions

	kick   chan struct{}
	global chan struct{}

	mu       sync.Mutex
	inflight map[string]bool
	dests    map[string]*destSem
	wg       sync.WaitGroup
	conns    connCache // remote.go: SMTP connections kept for reuse
}

type destSem struct {
	ch   chan struct{}
	refs int
}

// NewRunner returns a runner for q. It makes q.Enqueue kick the runner.
func NewRunner(q *Queue, o RunnerOptions) *Runner {
	o.defaults()
	r := &Runner{
		q:        q,
		o:        o,
		kick:     make(chan struct{}, 1),
		global:   make(chan struct{}, o.Concurrency),
		inflight: map[string]bool{},
		dests:    map[string]*destSem{},
	}
	k := r.Kick
	q.kick.Store(&k)
	return r
}

// Kick asks for a scan now (a message was queued). It never blocks.
func (r *Runner) Kick() {
	select {
	case r.kick <- struct{}{}:
	default:
	}
}

// Flush makes every message that is not held due now and scans.
func (r *Runner) Flush(ctx context.Context) error {
	if _, err := r.q.FlushAll(ctx); err != nil {
		return err
	}
	r.Kick()
	return nil
}

// sweepEvery is how often queue files without rows are looked for.
const sweepEvery = time.Hour

// sweepGrace protects files being enqueued while a sweep runs.
const sweepGrace = 5 * time.Minute

// Run delivers until ctx is canceled, then waits for the deliveries in
// flight (at most StopTimeout, after which they are cut off and retried at
// the next start) and returns.
func (r *Runner) Run(ctx context.Context) {
	defer r.closeConnections() // after the deliveries in flight (wg.Wait below)
	dctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	// Deliveries run on dctx: canceled only StopTimeout after ctx.
	stop := context.AfterFunc(ctx, func() { time.AfterFunc(r.o.StopTimeout, cancel) })
	defer stop()
	r.sweep(ctx)
	poll := time.NewTicker(r.o.PollInterval)
	defer poll.Stop()
	lastSweep := time.Now()
	for {
		r.scan(ctx, dctx)
		select {
		case <-ctx.Done():
			r.wg.Wait()
			return
		case <-r.kick:
		case <-poll.C:
			if time.Since(lastSweep) > sweepEvery {
				r.sweep(ctx)
				lastSweep = time.Now()
			}
		}
	}
}

func (r *Runner) sweep(ctx context.Context) {
	st, err := r.q.sweep(ctx, time.Now(), sweepGrace)
	if err != nil {
		r.o.Logger.Error("queue sweep: " + err.Error())
		return
	}
	for _, id := range st.OrphanFiles {
		r.o.Logger.Warn(id + ": removed queue file without queue entry (interrupted enqueue)")
	}
	for _, id := range st.MissingBody {
		r.o.Logger.Error(id + ": queue file missing; returning the message to its sender")
	}
}

// maxInflight bounds how many messages are worked on at once.
func (r *Runner) maxInflight() int { return 10 * r.o.Concurrency }

// scan starts every due message that is not already in flight.
func (r *Runner) scan(ctx, dctx context.Context) {
	if ctx.Err() != nil {
		return
	}
	r.mu.Lock()
	busy := len(r.inflight)
	r.mu.Unlock()
	if busy >= r.maxInflight() {
		return
	}
	// Due messages include those in flight: ask for enough to fill the room.
	ids, err := r.q.dueIDs(ctx, r.o.Now(), r.maxInflight())
	if err != nil {
		if ctx.Err() == nil {
			r.o.Logger.Error("queue scan: " + err.Error())
		}
		return
	}
	for _, id := range ids {
		r.mu.Lock()
		if r.inflight[id] || len(r.inflight) >= r.maxInflight() {
			r.mu.Unlock()
			continue
		}
		r.inflight[id] = true
		r.wg.Add(1)
		r.mu.Unlock()
		go func() {
			defer r.wg.Done()
			err := r.process(ctx, dctx, id)
			r.mu.Lock()
			delete(r.inflight, id)
			r.mu.Unlock()
			if err != nil {
				r.o.Logger.Error(id + ": " + err.Error())
				return
			}
			r.Kick() // room for more; notifications may have been queued
		}()
	}
}

// acquire takes a slot for dest and a global one; false when ctx ended
// first.
func (r *Runner) acquire(ctx context.Context, dest string) (release func(), ok bool) {
	r.mu.Lock()
	d := r.dests[dest]
	if d == nil {
		d = &destSem{ch: make(chan struct{}, r.o.DestinationConcurrency)}
		r.dests[dest] = d
	}
	d.refs++
	r.mu.Unlock()
	putDest := func() {
		r.mu.Lock()
		if d.refs--; d.refs == 0 {
			delete(r.dests, dest)
		}
		r.mu.Unlock()
	}
	select {
	case d.ch <- struct{}{}:
	case <-ctx.Done():
		putDest()
		return nil, false
	}
	select {
	case r.global <- struct{}{}:
	case <-ctx.Done():
		<-d.ch
		putDest()
		return nil, false
	}
	return func() {
		<-r.global
		<-d.ch
		putDest()
	}, true
}

// backoff is the delay before the next attempt of a message of age age.
func (r *Runner) backoff(age time.Duration) time.Duration {
	return min(max(age, r.o.MinBackoff), r.o.MaxBackoff)
}

// SweepAfterCrash removes queue files whose rows are gone (a crash between
// deleting a delivered message's rows and its file) without the grace the
// periodic sweep gives to enqueues in progress. Call it at start, after an
// unclean shutdown, before anything can enqueue.
func (q *Queue) SweepAfterCrash(ctx context.Context) (removed int, err error) {
	st, err := q.sweep(ctx, time.Now(), 0)
	return len(st.OrphanFiles), err
}

// pub publishes a mail event when RunnerOptions.Events is set.
func (r *Runner) pub(ev event.Event) {
	if r.o.Events != nil {
		r.o.Events.Publish(ev)
	}
}
