package anvil

import (
	"context"
	"log/slog"
	"net/netip"
	"sync"
	"time"

	"mailwarden/internal/config"
	"mailwarden/internal/event"
)

// DefaultMaxClients bounds the counters kept in memory: about 100 bytes
// each. Past it a new client is counted in SQL only at the next flush
// (its first events in memory are not refused).
const DefaultMaxClients = 200_000

// FlushInterval is how often Run writes the counts to SQL and reads the
// other nodes' back.
const FlushInterval = time.Second

// pruneEvery is how often Run deletes expired rows.
const pruneEvery = 5 * time.Minute

// Pregreet is the postscreen_cache test name of the pregreet test.
const Pregreet = "pregreet"

type key struct {
	ip   netip.Addr
	kind event.LimitKind
}

// counter is one client's count of one kind: in window win (Unix
// seconds, unit long) and in the window before it.
type counter struct {
	win, unit int64
	cur, prev int64
}

type pendingKey struct {
	key
	win  int64
	unit int64
}

// Limiter counts client events in memory and keeps the counts in SQL
// (Run). It is safe for concurrent use.
type Limiter struct {
	st  *Store // nil: memory only (one node, tests)
	log *slog.Logger
	max int

	mu       sync.Mutex
	now      func() time.Time
	counters map[key]*counter
	pending  map[pendingKey]int64     // events not yet added to SQL
	screened map[netip.Addr]time.Time // pregreeted clients and until when
	full     bool                     // logged once while the table is full
}

// New returns a Limiter keeping its counts in st (nil: memory only).
func New(st *Store, log *slog.Logger) *Limiter {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Limiter{st: st, log: log, max: DefaultMaxClients, now: time.Now,
		counters: map[key]*counter{}, pending: map[pendingKey]int64{}, screened: map[netip.Addr]time.Time{}}
}

// SetClock replaces time.Now (tests).
func (l *Limiter) SetClock(now func() time.Time) {
	l.mu.Lock()
	l.now = now
	l.mu.Unlock()
}

func window(now time.Time, unit int64) int64 { return now.Unix() / unit * unit }

// roll moves c to window win.
func (c *counter) roll(win, unit int64) {
	switch {
	case c.unit != unit:
		*c = counter{win: win, unit: unit}
	case win == c.win:
	case win == c.win+unit:
		c.prev, c.cur, c.win = c.cur, 0, win
	default:
		c.prev, c.cur, c.win = 0, 0, win
	}
}

// rate is the sliding-window estimate at now: the current window's count
// plus the previous one's share that lies within one unit of now,
// rounded up.
func (c *counter) rate(now time.Time) int64 {
	u := c.unit * 1000
	left := u - (now.UnixMilli() - c.win*1000)
	if left <= 0 || c.prev == 0 {
		return c.cur
	}
	return c.cur + (c.prev*left+u-1)/u
}

// Count adds n events of kind k by ip at the current time, in windows of
// unit (whole seconds, at least one), and returns the client's rate with
// them.
func (l *Limiter) Count(ip netip.Addr, k event.LimitKind, unit time.Duration, n int) int {
	u := max(int64(unit/time.Second), 1)
	ip = ip.Unmap()
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	win := window(now, u)
	kk := key{ip, k}
	c := l.counters[kk]
	if c == nil {
		if len(l.counters) >= l.max {
			l.sweep(now)
		}
		if len(l.counters) >= l.max {
			if !l.full {
				l.full = true
				l.log.Warn("anvil: " + "too many clients to count in memory; new ones are counted at the next flush")
			}
			l.pending[pendingKey{kk, win, u}] += int64(n)
			return n
		}
		c = &counter{win: win, unit: u}
		l.counters[kk] = c
	}
	c.roll(win, u)
	c.cur += int64(n)
	if l.st != nil {
		l.pending[pendingKey{kk, win, u}] += int64(n)
	}
	return int(c.rate(now))
}

// Rate returns the client's rate of kind k without counting.
func (l *Limiter) Rate(ip netip.Addr, k event.LimitKind, unit time.Duration) int {
	u := max(int64(unit/time.Second), 1)
	l.mu.Lock()
	defer l.mu.Unlock()
	c := l.counters[key{ip.Unmap(), k}]
	if c == nil {
		return 0
	}
	now := l.now()
	c.roll(window(now, u), u)
	return int(c.rate(now))
}

// sweep drops counters whose windows both ended. Callers hold mu.
func (l *Limiter) sweep(now time.Time) {
	for k, c := range l.counters {
		if window(now, c.unit) > c.win+c.unit {
			delete(l.counters, k)
		}
	}
	if l.full && len(l.counters) < l.max {
		l.full = false
	}
}

// Flush adds the events counted since the last flush to SQL, in one
// transaction, and takes the merged totals (this node's and the others')
// as the counts. On error the events stay pending for the next flush.
func (l *Limiter) Flush(ctx context.Context) error {
	if l.st == nil {
		return nil
	}
	l.mu.Lock()
	if len(l.pending) == 0 {
		l.sweep(l.now())
		l.mu.Unlock()
		return nil
	}
	batch := l.pending
	l.pending = make(map[pendingKey]int64, len(batch))
	l.mu.Unlock()

	keys := make([]pendingKey, 0, len(batch))
	ds := make([]Delta, 0, len(batch))
	for pk, n := range batch {
		keys = append(keys, pk)
		ds = append(ds, Delta{Client: pk.ip.String(), Event: pk.kind.String(), Window: pk.win, Unit: pk.unit, Count: n})
	}
	totals, err := l.st.Add(ctx, ds)

	l.mu.Lock()
	defer l.mu.Unlock()
	if err != nil {
		for pk, n := range batch {
			l.pending[pk] += n
		}
		return err
	}
	for i, pk := range keys {
		c := l.counters[pk.key]
		if c == nil {
			c = &counter{win: pk.win, unit: pk.unit}
			if len(l.counters) < l.max {
				l.counters[pk.key] = c
			}
		}
		if c.unit != pk.unit {
			continue
		}
		// Events counted here after the batch was taken are in SQL
		// only from the next flush: add them to the merged total.
		switch {
		case c.win == pk.win:
			c.cur = totals[i].Cur + l.pending[pk]
			c.prev = totals[i].Prev
		case c.win == pk.win+pk.unit:
			c.prev = totals[i].Cur
		}
	}
	l.sweep(l.now())
	return nil
}

// Run flushes every interval and prunes expired rows every few minutes,
// until ctx ends; then it flushes once more.
func (l *Limiter) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	lastPrune := time.Now()
	failed := false
	for {
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			l.Flush(fctx)
			cancel()
			return
		case <-t.C:
		}
		err := l.Flush(ctx)
		switch {
		case err != nil && !failed && ctx.Err() == nil:
			failed = true
			l.log.Warn("anvil: cannot write client counts, keeping them in memory: " + err.Error())
		case err == nil && failed:
			failed = false
			l.log.Info("anvil: writing client counts again")
		}
		if l.st != nil && time.Since(lastPrune) > pruneEvery {
			lastPrune = time.Now()
			if err := l.st.Prune(ctx, time.Now()); err != nil && ctx.Err() == nil {
				l.log.Warn("anvil: " + err.Error())
			}
		}
	}
}

// Forget drops the in-memory counts of the clients in p (their SQL rows
// are Store.Forget's).
func (l *Limiter) Forget(p netip.Prefix) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for k := range l.counters {
		if p.Contains(k.ip) {
			delete(l.counters, k)
		}
	}
	for k := range l.pending {
		if p.Contains(k.ip) {
			delete(l.pending, k)
		}
	}
	for ip := range l.screened {
		if p.Contains(ip) {
			delete(l.screened, ip)
		}
	}
}

// limitOf is the configured limit of kind k (0: off).
func limitOf(cfg *config.Config, k event.LimitKind) int {
	s := &cfg.SMTP.SMTPLimits
	switch k {
	case event.ConnectionRate:
		return s.ClientConnectionRateLimit
	case event.MessageRate:
		return s.ClientMessageRateLimit
	case event.RecipientRate:
		return s.ClientRecipientRateLimit
	case event.NewTLSRate:
		return s.ClientNewTLSSessionRateLimit
	case event.AuthRate:
		return s.ClientAuthRateLimit
	}
	return 0
}

// Hit counts one event of kind k by ip under cfg's limits and reports the
// client's rate and whether it is over the limit (Postfix: rate > limit).
// A limit of 0 and a client in smtp.client_event_limit_exceptions are
// not counted at all, as Postfix's smtpd does not ask anvil for them.
func (l *Limiter) Hit(cfg *config.Config, ip netip.Addr, k event.LimitKind) (int, bool) {
	lim := limitOf(cfg, k)
	if lim <= 0 || !ip.IsValid() || cfg.EventLimitExempt(ip) {
		return 0, false
	}
	n := l.Count(ip, k, cfg.SMTP.RateTimeUnit.D(), 1)
	return n, n > lim
}

// Over is Hit without counting: whether one more event would be over
// the limit (new TLS sessions are checked before the handshake and
// counted after it, when not resumed).
func (l *Limiter) Over(cfg *config.Config, ip netip.Addr, k event.LimitKind) (int, bool) {
	lim := limitOf(cfg, k)
	if lim <= 0 || !ip.IsValid() || cfg.EventLimitExempt(ip) {
		return 0, false
	}
	n := l.Rate(ip, k, cfg.SMTP.RateTimeUnit.D()) + 1
	return n, n > lim
}
