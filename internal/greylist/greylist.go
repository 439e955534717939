package greylist

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"mailwarden/internal/config"
	"mailwarden/internal/policy"
	"mailwarden/internal/sqldb"
)

// Options are what the greylist needs beyond its config section.
type Options struct {
	// Now is the clock (tests use a fake one); nil is time.Now.
	Now func() time.Time
	// Sleep waits d or until ctx ends (the tarpit); nil uses a timer.
	Sleep func(ctx context.Context, d time.Duration) error
	Log   *slog.Logger
	// RecipientDelimiter cuts extensions off senders and whitelisted
	// recipients ("+" when empty).
	RecipientDelimiter string
	// Hostname and Version fill the X-Greylist header (%h, %v).
	Hostname, Version string
	// Skip, when set, lets a client through without greylisting or
	// tarpitting when it says so (a DNSWL listing); the string says why,
	// for the log.
	Skip func(ctx context.Context, r *policy.Request) (bool, string)
	// DNS answers the [greylist] dnswl lists (nil: they are not asked),
	// DNSCache keeps those answers (nil: a cache of its own).
	DNS      policy.DNS
	DNSCache *policy.DNSCache
	// SPFPass, when set, does the same for a sender whose SPF check
	// passed.
	SPFPass func(ctx context.Context, r *policy.Request) (bool, string)
	// WhitelistReload is how often the hand whitelist is read again from
	// SQL (5 s when 0); SweepInterval how often rows older than max_age
	// are deleted (1 h when 0).
	WhitelistReload, SweepInterval time.Duration
}

// Greylist is one open greylist: its config, whitelists and database.
type Greylist struct {
	db     *sqldb.DB
	o      Options
	set    atomic.Pointer[settings]
	manual atomic.Pointer[[]netip.Prefix]

	stop     chan struct{}
	done     chan struct{}
	stopOnce sync.Once
}

// Open reads the whitelist files of cfg, loads the hand whitelist from db
// and starts the background work (reloading that whitelist, sweeping old
// rows) until Close.
func Open(db *sqldb.DB, cfg config.Greylist, o Options) (*Greylist, error) {
	if db == nil {
		return nil, errors.New("greylist: no database")
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Sleep == nil {
		o.Sleep = sleep
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.WhitelistReload <= 0 {
		o.WhitelistReload = 5 * time.Second
	}
	if o.SweepInterval <= 0 {
		o.SweepInterval = time.Hour
	}
	if o.Version == "" {
		o.Version = "dev"
	}
	g := &Greylist{db: db, o: o, stop: make(chan struct{}), done: make(chan struct{})}
	if err := g.Reload(cfg); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := g.reloadManual(ctx); err != nil {
		return nil, err
	}
	if _, err := g.Sweep(ctx); err != nil {
		return nil, err
	}
	go g.background()
	return g, nil
}

// settings are the config section and the files it names, swapped as
// one on Reload.
type settings struct {
	cfg        config.Greylist
	clients    *ClientList
	recipients *RecipientList
	exceptions *ClientList
	dnswl      []dnswlList
}

// Reload applies a new [greylist] section (SIGHUP): the whitelist files
// are read again; on an error the running settings stay.
func (g *Greylist) Reload(cfg config.Greylist) error {
	if cfg.IPv4CIDR == 0 {
		cfg.IPv4CIDR = 24
	}
	if cfg.IPv6CIDR == 0 {
		cfg.IPv6CIDR = 64
	}
	s := &settings{cfg: cfg}
	var err error
	if s.clients, err = loadClients(cfg.WhitelistClients); err != nil {
		return err
	}
	if s.recipients, err = loadRecipients(cfg.WhitelistRecipients, g.o.RecipientDelimiter); err != nil {
		return err
	}
	if s.exceptions, err = loadClients(cfg.S25RExceptions); err != nil {
		return err
	}
	if s.dnswl, err = dnswlLists(cfg.DNSWL, policy.Deps{DNS: g.o.DNS, DNSCache: g.o.DNSCache}); err != nil {
		return err
	}
	g.set.Store(s)
	return nil
}

// Close stops the background work. It does not close the database.
func (g *Greylist) Close() error {
	g.stopOnce.Do(func() { close(g.stop) })
	<-g.done
	return nil
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (g *Greylist) background() {
	defer close(g.done)
	reload := time.NewTicker(g.o.WhitelistReload)
	defer reload.Stop()
	sweep := time.NewTicker(g.o.SweepInterval)
	defer sweep.Stop()
	for {
		select {
		case <-g.stop:
			return
		case <-reload.C:
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			if err := g.reloadManual(ctx); err != nil {
				g.o.Log.Warn("greylist: whitelist reload: " + err.Error())
			}
			cancel()
		case <-sweep.C:
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			if n, err := g.Sweep(ctx); err != nil {
				g.o.Log.Warn("greylist: sweep: " + err.Error())
			} else if n > 0 {
				g.o.Log.Info("greylist: swept " + strconv.FormatInt(n, 10) + " entries older than max_age")
			}
			cancel()
		}
	}
}

// Factory is check_greylist, for policy.Deps.Restrictions. It takes no
// arguments and acts at the RCPT stage (greylisting, tarpitting) and the
// DATA stage (a tarpitted client that got there has passed) or, for a
// stricter test, the end-of-data stage (it sent the whole message);
// elsewhere it has no opinion. Put it in both the recipient and the data
// (or end_of_data) lists when tarpitting, as taRgrey's setup does.
func (g *Greylist) Factory() policy.Factory {
	return func(k policy.Kind, args []string) (policy.Check, error) {
		if len(args) > 0 {
			return nil, errors.New("check_greylist takes no argument (its settings are in [greylist])")
		}
		return policy.Func("check_greylist", func(ctx context.Context, r *policy.Request) policy.Verdict {
			return g.Check(ctx, k, r)
		}), nil
	}
}

// Check is check_greylist standing in a list of kind k.
func (g *Greylist) Check(ctx context.Context, k policy.Kind, r *policy.Request) policy.Verdict {
	if r.Env == nil || !r.Env.ClientIP.IsValid() {
		return policy.Verdict{}
	}
	var v policy.Verdict
	var err error
	switch {
	case r.Stage == policy.Rcpt && r.Recipient != "":
		v, err = g.rcpt(ctx, k, r)
	case r.Stage == policy.Data || r.Stage == policy.EndOfData:
		err = g.data(ctx, r)
	default:
		return policy.Verdict{}
	}
	if err != nil {
		// Principle 2: a database in trouble is a quick 4xx, never a
		// silent accept.
		g.o.Log.Error("greylist: " + err.Error())
		return policy.Verdict{Action: policy.Defer, Code: 451, Enhanced: "4.3.0", Text: subject(k, r) + "Temporary lookup failure"}
	}
	return v
}

// client is the client as the log and the whitelists name it.
func clientName(r *policy.Request) string {
	h := r.Env.ClientHost
	if h == "" {
		h = "unknown"
	}
	return h
}

func (g *Greylist) logAction(r *policy.Request, action, reason string) {
	g.o.Log.Info(fmt.Sprintf("action=%s, reason=%s, client_name=%s, client_address=%s, sender=%s, recipient=%s",
		action, reason, clientName(r), r.Env.ClientIP.Unmap(), r.Sender, r.Recipient))
}

// skip reports whether a whitelist or a hook lets the client, sender or
// recipient through, and why.
func (g *Greylist) skip(ctx context.Context, r *policy.Request) (bool, string) {
	ip := r.Env.ClientIP.Unmap()
	if ok, _ := g.set.Load().clients.Match(clientName(r), ip); ok {
		return true, "client whitelist"
	}
	if m := g.manual.Load(); m != nil {
		for _, p := range *m {
			if p.Contains(ip) {
				return true, "client whitelist " + p.String()
			}
		}
	}
	if ok, _ := g.set.Load().recipients.Match(r.Recipient); ok {
		return true, "recipient whitelist"
	}
	if g.o.DNS != nil {
		for _, l := range g.set.Load().dnswl {
			// permit_dnswl_client answers Permit when the client is
			// listed; a lookup failure (DeferIfReject) greylists as usual.
			if v := l.list.Eval(ctx, r, nil); v.Action == policy.Permit {
				return true, "dnswl " + l.site
			}
		}
	}
	if g.o.Skip != nil {
		if ok, why := g.o.Skip(ctx, r); ok {
			return true, why
		}
	}
	if g.o.SPFPass != nil {
		if ok, why := g.o.SPFPass(ctx, r); ok {
			return true, why
		}
	}
	return false, ""
}

// tarpits reports whether this client is tarpitted (taRgrey) and, when
// tarpitting is on but not for it, whether it is greylisted at all.
func (g *Greylist) tarpits(r *policy.Request) (tarpit, greylist bool) {
	if g.cfg().Tarpit <= 0 {
		return false, true
	}
	if !g.cfg().TarpitS25R {
		return true, true
	}
	if ok, _ := g.set.Load().exceptions.Match(clientName(r), r.Env.ClientIP); ok {
		return false, g.cfg().GreylistNonS25R
	}
	if s, _ := S25R(clientName(r)); s {
		return true, true
	}
	return false, g.cfg().GreylistNonS25R
}

// triplet is one row of greylist_triplet.
type triplet struct {
	net, sender, rcpt string
	first, last       int64
	passed            int64
	tarpit            bool
}

func (g *Greylist) key(r *policy.Request, rcpt string) triplet {
	return triplet{
		net:    ClientNet(r.Env.ClientIP, g.cfg().IPv4CIDR, g.cfg().IPv6CIDR).String(),
		sender: NormalizeSender(r.Sender, g.o.RecipientDelimiter),
		rcpt:   normalizeRecipient(rcpt),
	}
}

// lastSeenSlack is how stale last_seen may get before a passing lookup
// writes it again: max_age is counted in days, so a lookup of a passed
// triplet stays a read.
const lastSeenSlack = 10 * time.Minute

// rcpt is the RCPT-stage decision: postgrey's, with taRgrey's tarpit in
// front for the clients it picks.
func (g *Greylist) rcpt(ctx context.Context, k policy.Kind, r *policy.Request) (policy.Verdict, error) {
	if ok, why := g.skip(ctx, r); ok {
		g.logAction(r, "pass", why)
		return policy.Verdict{}, nil
	}
	now := g.o.Now().Unix()
	tarpit, greylist := g.tarpits(r)
	if !greylist {
		g.logAction(r, "pass", "not S25R")
		return policy.Verdict{}, nil
	}
	ip := r.Env.ClientIP.Unmap().String()
	if ok, err := g.awlPass(ctx, ip, now); err != nil || ok {
		if ok {
			g.logAction(r, "pass", "client AWL")
		}
		return policy.Verdict{}, err
	}
	t := g.key(r, r.Recipient)
	found, err := g.load(ctx, &t)
	if err != nil {
		return policy.Verdict{}, err
	}
	if found && t.first > now { // a clock that went back
		t.first = now
	}
	if found && t.passed != 0 {
		if now-t.last >= int64(lastSeenSlack/time.Second) {
			t.last = now
			if err := g.save(ctx, t, ip); err != nil {
				return policy.Verdict{}, err
			}
		}
		g.logAction(r, "pass", "triplet found")
		return policy.Verdict{}, nil
	}
	stale := found && now-t.first > int64(g.cfg().RetryWindow.D()/time.Second)
	if tarpit && (!found || stale) {
		return g.tarpit(ctx, k, r, t, ip, now)
	}
	if !found || stale {
		// postgrey: the first try, or a first retry after the retry
		// window, starts the wait over.
		t.first, t.tarpit = now, false
	}
	t.last = now
	left := int64(g.cfg().Delay.D()/time.Second) - (now - t.first)
	if left > 0 {
		if err := g.save(ctx, t, ip); err != nil {
			return policy.Verdict{}, err
		}
		reason := "new"
		if now != t.first {
			reason = "early-retry (" + strconv.FormatInt(left, 10) + "s missing)"
		}
		if t.tarpit {
			reason += ", hung up in the tarpit before"
		}
		g.logAction(r, "greylist", reason)
		return g.greylisted(k, r, left), nil
	}
	t.passed, t.tarpit = now, false
	if err := g.save(ctx, t, ip); err != nil {
		return policy.Verdict{}, err
	}
	if err := g.awlCount(ctx, ip, now); err != nil {
		return policy.Verdict{}, err
	}
	g.logAction(r, "pass", "triplet found, delay="+strconv.FormatInt(now-t.first, 10))
	return g.header(now - t.first), nil
}

// tarpit is taRgrey's answer to a new triplet of a tarpitted client: the
// triplet is remembered as tarpitted, the answer waits (once a
// transaction), and the list goes on. The DATA stage marks the triplet
// passed; a client that hung up is greylisted on its next try.
func (g *Greylist) tarpit(ctx context.Context, k policy.Kind, r *policy.Request, t triplet, ip string, now int64) (policy.Verdict, error) {
	t.first, t.last, t.passed, t.tarpit = now, now, 0, true
	if err := g.save(ctx, t, ip); err != nil {
		return policy.Verdict{}, err
	}
	sat, err := g.satThrough(ctx, r)
	if err != nil {
		return policy.Verdict{}, err
	}
	if sat {
		g.logAction(r, "tarpit", "transaction already tarpitted")
		return policy.Verdict{}, nil
	}
	g.logAction(r, "tarpit", "new, delay="+strconv.FormatInt(int64(g.cfg().Tarpit.D()/time.Second), 10))
	if rec, ok := ctx.Value(sleepKey{}).(*sleepRecord); ok {
		rec.d = g.cfg().Tarpit.D() // the caller waits (a policy server's SLEEP answer)
		return policy.Verdict{}, nil
	}
	if err := g.o.Sleep(ctx, g.cfg().Tarpit.D()); err != nil {
		// Cut short (shutdown, the session's deadline): the client did
		// not prove anything.
		return g.greylisted(k, r, int64(g.cfg().Delay.D()/time.Second)), nil
	}
	return policy.Verdict{}, nil
}

type sleepKey struct{}

type sleepRecord struct{ d time.Duration }

// SleepElsewhere returns a context under which check_greylist does not
// wait out the tarpit itself but notes how long the wait is; the returned
// function reports it after the check (0: no wait). A policy server uses
// it to answer Postfix "SLEEP N", as taRgrey does, instead of holding the
// policy connection past Postfix's time limit.
func SleepElsewhere(ctx context.Context) (context.Context, func() time.Duration) {
	rec := &sleepRecord{}
	return context.WithValue(ctx, sleepKey{}, rec), func() time.Duration { return rec.d }
}

// maxTxTriplets bounds the recipients of one transaction looked at by
// one query.
const maxTxTriplets = 100

// satThrough reports whether this transaction already sat through the
// tarpit: one of its accepted recipients is a tarpitted triplet not yet
// passed (one from an earlier try would have been greylisted, not
// accepted).
func (g *Greylist) satThrough(ctx context.Context, r *policy.Request) (bool, error) {
	rcpts := r.Env.Recipients
	if len(rcpts) == 0 {
		return false, nil
	}
	if len(rcpts) > maxTxTriplets {
		rcpts = rcpts[:maxTxTriplets]
	}
	t := g.key(r, "")
	args := []any{t.net, t.sender}
	q := make([]string, len(rcpts))
	for i, rc := range rcpts {
		q[i] = "?"
		args = append(args, normalizeRecipient(rc.Address))
	}
	var n int
	err := g.db.Read.QueryRowContext(ctx, `SELECT COUNT(*) FROM greylist_triplet
		WHERE client_net = ? AND sender = ? AND tarpit = 1 AND passed = 0 AND recipient IN (`+strings.Join(q, ",")+`)`, args...).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("tarpit lookup: %w", err)
	}
	return n > 0, nil
}

// data is the DATA stage: the client sat through the tarpit and came
// back, so its tarpitted triplets in this transaction pass.
func (g *Greylist) data(ctx context.Context, r *policy.Request) error {
	if g.cfg().Tarpit <= 0 || len(r.Env.Recipients) == 0 {
		return nil
	}
	rcpts := r.Env.Recipients
	if len(rcpts) > maxTxTriplets {
		rcpts = rcpts[:maxTxTriplets]
	}
	// Most transactions have nothing to mark: find that out with a read,
	// without taking the write lock.
	if sat, err := g.satThrough(ctx, r); err != nil || !sat {
		return err
	}
	now := g.o.Now().Unix()
	t := g.key(r, "")
	args := []any{now, now, t.net, t.sender}
	q := make([]string, len(rcpts))
	for i, rc := range rcpts {
		q[i] = "?"
		args = append(args, normalizeRecipient(rc.Address))
	}
	res, err := g.db.Write.ExecContext(ctx, `UPDATE greylist_triplet SET passed = ?, last_seen = ?, tarpit = 0
		WHERE client_net = ? AND sender = ? AND tarpit = 1 AND passed = 0 AND recipient IN (`+strings.Join(q, ",")+`)`, args...)
	if err != nil {
		return fmt.Errorf("tarpit pass: %w", err)
	}
	if n, _ := res.RowsAffected(); n > 0 {
		rr := *r
		rr.Recipient = rcpts[0].Address
		g.logAction(&rr, "pass", "tarpit passed ("+strconv.FormatInt(n, 10)+" recipients)")
		return g.awlCount(ctx, r.Env.ClientIP.Unmap().String(), now)
	}
	return nil
}

// greylisted is the verdict for a triplet that must wait left seconds:
// DEFER_IF_PERMIT with postgrey's text, so that a later reject in the
// stage still wins.
func (g *Greylist) greylisted(k policy.Kind, r *policy.Request, left int64) policy.Verdict {
	text := g.cfg().Text
	if text == "" {
		text = config.DefaultGreylistText
	}
	text = strings.Replace(text, "%s", strconv.FormatInt(left, 10), 1)
	text = strings.Replace(text, "%r", domainOf(r.Recipient), 1)
	enh := "4.2.0" // postgrey: Exchange retries on 4.2.0, not on 4.7.1
	if text != "" && text[0] >= '0' && text[0] <= '9' {
		enh = "4.7.1" // Postfix's default when the text has its own code
		if code, rest, ok := strings.Cut(text, " "); ok && enhanced(code) {
			enh, text = "4"+code[1:], rest
		}
	}
	v := policy.Verdict{Action: policy.DeferIfPermit, Code: 450, Enhanced: enh, Text: subject(k, r) + text}
	if code, _ := config.ParseGreylistAction(g.cfg().Action); code != 0 {
		// postgrey --greylist-action=DEFER or 4NN: refused at once.
		v.Action, v.Code = policy.Defer, code
	}
	return v
}

// enhanced reports whether s is an RFC 3463 status code (class.subject.detail).
func enhanced(s string) bool {
	p := strings.Split(s, ".")
	if len(p) != 3 || len(p[0]) != 1 || (p[0][0] != '2' && p[0][0] != '4' && p[0][0] != '5') {
		return false
	}
	for _, x := range p[1:] {
		if len(x) == 0 || len(x) > 3 || strings.Trim(x, "0123456789") != "" {
			return false
		}
	}
	return true
}

// subject is the start of Postfix's reply for a policy answer in a list of
// kind k: "<rcpt>: Recipient address rejected: ".
func subject(k policy.Kind, r *policy.Request) string {
	switch k {
	case policy.KindClient:
		return "<" + clientName(r) + "[" + r.Env.ClientIP.Unmap().String() + "]>: Client host rejected: "
	case policy.KindHelo:
		return "<" + r.Env.Helo + ">: Helo command rejected: "
	case policy.KindSender:
		return "<" + r.Sender + ">: Sender address rejected: "
	case policy.KindData:
		return "<DATA>: Data command rejected: "
	case policy.KindEndOfData:
		return "<END-OF-MESSAGE>: End-of-data rejected: "
	}
	return "<" + r.Recipient + ">: Recipient address rejected: "
}

// header is the X-Greylist field postgrey adds when a triplet passes.
func (g *Greylist) header(delayed int64) policy.Verdict {
	h := g.cfg().Header
	if h == "" {
		return policy.Verdict{}
	}
	host := g.o.Hostname
	if host == "" {
		host = "localhost"
	}
	h = strings.Replace(h, "%t", strconv.FormatInt(delayed, 10), 1)
	h = strings.Replace(h, "%v", g.o.Version, 1)
	h = strings.Replace(h, "%h", host, 1)
	h = strings.Replace(h, "%d", g.o.Now().Format("Mon, 02 Jan 2006 15:04:05 MST"), 1)
	return policy.Verdict{Action: policy.Prepend, Arg: h}
}

// cfg is the [greylist] section in force.
func (g *Greylist) cfg() *config.Greylist { return &g.set.Load().cfg }

// CheckFiles reads the whitelist and exception files cfg names, as Open
// would, and reports the first problem (for check-config).
func CheckFiles(cfg config.Greylist, delims string) error {
	if _, err := loadClients(cfg.WhitelistClients); err != nil {
		return err
	}
	if _, err := loadRecipients(cfg.WhitelistRecipients, delims); err != nil {
		return err
	}
	if _, err := loadClients(cfg.S25RExceptions); err != nil {
		return err
	}
	_, err := dnswlLists(cfg.DNSWL, policy.Deps{})
	return err
}

// dnswlList is one [greylist] dnswl site as a permit_dnswl_client list.
type dnswlList struct {
	site string
	list policy.List
}

func dnswlLists(sites []string, d policy.Deps) ([]dnswlList, error) {
	var ls []dnswlList
	for _, site := range sites {
		l, err := policy.BuildList(policy.KindClient, []string{"permit_dnswl_client " + site}, nil, d)
		if err != nil {
			return nil, fmt.Errorf("greylist.dnswl %q: %w", site, err)
		}
		ls = append(ls, dnswlList{site: site, list: l})
	}
	return ls, nil
}

// Syntax is check_greylist for checking a config without a database
// (`mailwarden check-config`): it accepts what Factory accepts and has no
// opinion on mail.
func Syntax() policy.Factory {
	return func(k policy.Kind, args []string) (policy.Check, error) {
		if len(args) > 0 {
			return nil, errors.New("check_greylist takes no argument (its settings are in [greylist])")
		}
		return policy.Func("check_greylist", func(context.Context, *policy.Request) policy.Verdict { return policy.Verdict{} }), nil
	}
}
