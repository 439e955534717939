package autoblock

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"mailwarden/internal/anvil"
	"mailwarden/internal/block"
	"mailwarden/internal/config"
	"mailwarden/internal/event"
)

// The causes, as counted and logged.
const (
	CauseAuth     = "auth"
	CauseErrors   = "errors"
	CauseRate     = "rate"
	CausePregreet = "pregreet"
)

// ReasonPrefix starts the reason of every automatic block (mailwarden
// auth unlock lifts only those).
const ReasonPrefix = "autoblock: "

// queueSize bounds the offences waiting for the worker; past it they are
// dropped (and the drop logged once per burst).
const queueSize = 1024

// commandTimeout bounds the configured command.
const commandTimeout = 30 * time.Second

type offence struct {
	ip    netip.Addr
	cause string
}

// Blocker is an event.Subscriber: Handle queues offences, Run blocks.
type Blocker struct {
	cfg    func() *config.Config
	counts *anvil.Store
	blocks *block.Store
	pub    event.Publisher
	log    *slog.Logger
	now    func() time.Time
	// exec runs the configured command (tests replace it).
	exec func(ctx context.Context, argv []string) ([]byte, error)
	// forget drops the client's in-memory counts after a block (the
	// Limiter's Forget); may be nil.
	forget func(netip.Prefix)

	ch      chan offence
	dropped atomic.Bool
}

// Options are what a Blocker needs.
type Options struct {
	Config func() *config.Config
	Counts *anvil.Store
	Blocks *block.Store
	// Events receives an event.AutoBlocked per block (the log line and
	// the metric); nil drops them.
	Events event.Publisher
	Log    *slog.Logger
	// Forget, when set, is called with each blocked network (the
	// anvil.Limiter's Forget).
	Forget func(netip.Prefix)
}

// New returns a Blocker; Run must be running for it to block anything.
func New(o Options) *Blocker {
	log := o.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	pub := o.Events
	if pub == nil {
		pub = event.Discard
	}
	return &Blocker{cfg: o.Config, counts: o.Counts, blocks: o.Blocks, pub: pub, log: log, now: time.Now,
		exec: runCommand, forget: o.Forget, ch: make(chan offence, queueSize)}
}

// Handle implements event.Subscriber: it picks the offences out of the
// events and queues them, never waiting.
func (b *Blocker) Handle(ev event.Event) {
	var o offence
	switch e := ev.(type) {
	case *event.AuthLockout:
		o = offence{e.Client, CauseAuth}
	case *event.Lost:
		if e.Kind != event.TooManyErrors {
			return
		}
		o = offence{e.Client.IP, CauseErrors}
	case *event.RateLimited:
		o = offence{e.Client.IP, CauseRate}
	case *event.TooManyConnections:
		o = offence{e.Client.IP, CauseRate}
	case *event.Pregreet:
		o = offence{e.Client.IP, CausePregreet}
	default:
		return
	}
	if !o.ip.IsValid() || !b.cfg().Autoblock.Enabled {
		return
	}
	select {
	case b.ch <- o:
		b.dropped.Store(false)
	default:
		if !b.dropped.Swap(true) {
			b.log.Warn("autoblock: too many offences at once; some were not counted")
		}
	}
}

// Run counts and blocks the queued offences until ctx ends.
func (b *Blocker) Run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case o := <-b.ch:
			if err := b.Offend(ctx, o.ip, o.cause); err != nil && ctx.Err() == nil {
				b.log.Warn("autoblock: " + err.Error())
			}
		}
	}
}

// threshold is how many offences of cause block (0: never).
func threshold(a *config.Autoblock, cause string) int {
	switch cause {
	case CauseAuth:
		return a.AuthLockouts
	case CauseErrors:
		return a.ErrorLimits
	case CauseRate:
		return a.RateLimits
	case CausePregreet:
		return a.Pregreets
	}
	return 0
}

// Prefix is what an automatic block covers: the address, or for IPv6 the
// /64 it is in (one host commonly holds a whole /64).
func Prefix(ip netip.Addr) netip.Prefix {
	ip = ip.Unmap()
	if ip.Is6() {
		p, _ := ip.Prefix(64)
		return p
	}
	return netip.PrefixFrom(ip, 32)
}

// Offend counts one offence of cause by ip and blocks the client when it
// reaches the cause's threshold within find_time (counted as anvil's
// windows are: this window's offences plus the previous window's share).
func (b *Blocker) Offend(ctx context.Context, ip netip.Addr, cause string) error {
	cfg := b.cfg()
	a := &cfg.Autoblock
	limit := threshold(a, cause)
	if !a.Enabled || limit <= 0 || cfg.AutoblockIgnored(ip) {
		return nil
	}
	p := Prefix(ip)
	unit := int64(a.FindTime.D() / time.Second)
	now := b.now()
	win := now.Unix() / unit * unit
	t, err := b.counts.Add(ctx, []anvil.Delta{{Client: p.Addr().String(), Event: "ab-" + cause, Window: win, Unit: unit, Count: 1}})
	if err != nil {
		return err
	}
	u := unit * 1000
	left := u - (now.UnixMilli() - win*1000)
	n := t[0].Cur
	if left > 0 {
		n += (t[0].Prev*left + u - 1) / u
	}
	if n < int64(limit) {
		return nil
	}
	ban := a.BanTime.D()
	reason := ReasonPrefix + strconv.FormatInt(n, 10) + " " + cause + " offences within " + a.FindTime.D().String()
	if err := b.blocks.Add(ctx, block.Entry{Prefix: p, Reason: reason, Created: now, Expires: now.Add(ban)}); err != nil {
		return err
	}
	// The block is in force; its offences start again from nothing.
	if _, err := b.counts.Forget(ctx, p); err != nil {
		b.log.Warn("autoblock: " + err.Error())
	}
	if b.forget != nil {
		b.forget(p)
	}
	ev := &event.AutoBlocked{Client: ip.Unmap(), Cause: cause, Count: int(n), Within: a.FindTime.D(), For: ban}
	if argv := Command(a.Command, p, ban); argv != nil {
		ev.Command = strings.Join(argv, " ")
		cctx, cancel := context.WithTimeout(ctx, commandTimeout)
		out, err := b.exec(cctx, argv)
		cancel()
		if err != nil {
			b.log.Warn(fmt.Sprintf("autoblock: %s failed: %v: %s", argv[0], err, strings.TrimSpace(string(out))))
		}
	}
	b.pub.Publish(ev)
	return nil
}

// Command splits the configured command on blanks and fills in each
// word %a (the blocked address, or network for IPv6) and %d (the
// duration in whole seconds); %% is a percent sign. No shell sees it, so
// nothing in an address can become a command. nil when none is set.
func Command(tmpl string, p netip.Prefix, d time.Duration) []string {
	words := strings.Fields(tmpl)
	if len(words) == 0 {
		return nil
	}
	addr := p.Addr().String()
	if p.Bits() != p.Addr().BitLen() {
		addr = p.String()
	}
	secs := strconv.FormatInt(int64(d/time.Second), 10)
	argv := make([]string, len(words))
	for i, w := range words {
		var sb strings.Builder
		for j := 0; j < len(w); j++ {
			if w[j] != '%' || j+1 == len(w) {
				sb.WriteByte(w[j])
				continue
			}
			j++
			switch w[j] {
			case 'a':
				sb.WriteString(addr)
			case 'd':
				sb.WriteString(secs)
			case '%':
				sb.WriteByte('%')
			default:
				sb.WriteByte('%')
				sb.WriteByte(w[j])
			}
		}
		argv[i] = sb.String()
	}
	return argv
}

func runCommand(ctx context.Context, argv []string) ([]byte, error) {
	return exec.CommandContext(ctx, argv[0], argv[1:]...).CombinedOutput()
}
