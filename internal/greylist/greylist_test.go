package greylist

import (
	"context"
	"net/netip"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"mailwarden/internal/config"
	"mailwarden/internal/dnsx/dnstest"
	"mailwarden/internal/envelope"
	"mailwarden/internal/policy"
	"mailwarden/internal/sqldb"
)

// fakeClock is a clock the test moves.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type harness struct {
	g      *Greylist
	clock  *fakeClock
	slept  []time.Duration
	hangUp bool // the next Sleep fails, as a canceled session
}

func newHarness(t *testing.T, mod func(*config.Greylist)) *harness {
	t.Helper()
	db, err := sqldb.Open(context.Background(), filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	cfg := config.DefaultGreylist()
	if mod != nil {
		mod(&cfg)
	}
	h := &harness{clock: &fakeClock{t: time.Unix(1_700_000_000, 0)}}
	h.g, err = Open(db, cfg, Options{Now: h.clock.Now, Hostname: "mx.test", Version: "test",
		Sleep: func(ctx context.Context, d time.Duration) error {
			h.slept = append(h.slept, d)
			if h.hangUp {
				h.hangUp = false
				return context.Canceled
			}
			h.clock.Add(d)
			return nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.g.Close() })
	return h
}

// client is one SMTP client: address and verified name.
type client struct {
	ip   string
	host string
}

func (h *harness) rcpt(c client, from, to string, accepted ...string) policy.Verdict {
	env := &envelope.Envelope{ClientIP: netip.MustParseAddr(c.ip), ClientHost: c.host, From: from}
	for _, a := range accepted {
		env.Recipients = append(env.Recipients, envelope.Recipient{Address: a})
	}
	return h.g.Check(context.Background(), policy.KindRecipient, &policy.Request{Stage: policy.Rcpt, Env: env, Sender: from, Recipient: to})
}

func (h *harness) data(c client, from string, rcpts ...string) policy.Verdict {
	env := &envelope.Envelope{ClientIP: netip.MustParseAddr(c.ip), ClientHost: c.host, From: from}
	for _, a := range rcpts {
		env.Recipients = append(env.Recipients, envelope.Recipient{Address: a})
	}
	return h.g.Check(context.Background(), policy.KindData, &policy.Request{Stage: policy.Data, Env: env, Sender: from})
}

var (
	server  = client{"192.0.2.10", "mail.example.org"}
	server2 = client{"192.0.2.77", "mail2.example.org"} // same /24
	dynamic = client{"198.51.100.9", "p1234-ipad5.example.ne.jp"}
	noname  = client{"203.0.113.5", "unknown"}
)

const greyText = "<bob@example.com>: Recipient address rejected: Greylisted, see http://postgrey.schweikert.ch/help/example.com.html"

func greyed(t *testing.T, v policy.Verdict) {
	t.Helper()
	if v.Action != policy.DeferIfPermit || v.Code != 450 || v.Enhanced != "4.2.0" || !strings.HasPrefix(v.Text, "<") {
		t.Fatalf("want greylisted, got %+v", v)
	}
}

func passed(t *testing.T, v policy.Verdict) {
	t.Helper()
	if v.Action != policy.Dunno && v.Action != policy.Prepend {
		t.Fatalf("want pass, got %+v", v)
	}
}

// postgrey's state machine, step by step with a fake clock.
func TestGreylistSequence(t *testing.T) {
	h := newHarness(t, nil)
	steps := []struct {
		name    string
		advance time.Duration
		c       client
		from    string
		want    string // "grey", "pass", "header" (pass with X-Greylist)
	}{
		{"first try", 0, server, "alice@example.org", "grey"},
		{"early retry", 100 * time.Second, server, "alice@example.org", "grey"},
		{"other host same /24 early", 100 * time.Second, server2, "alice@example.org", "grey"},
		{"after the delay", 101 * time.Second, server, "Alice+list@Example.org", "header"},
		{"known triplet", time.Hour, server2, "alice@example.org", "pass"},
		{"new sender is greylisted", 0, server, "carol@example.org", "grey"},
	}
	for _, s := range steps {
		h.clock.Add(s.advance)
		v := h.rcpt(s.c, s.from, "bob@example.com")
		switch s.want {
		case "grey":
			greyed(t, v)
			if v.Text != greyText {
				t.Errorf("%s: text %q", s.name, v.Text)
			}
		case "pass":
			if v.Action != policy.Dunno {
				t.Errorf("%s: %+v, want dunno", s.name, v)
			}
		case "header":
			if v.Action != policy.Prepend || !strings.HasPrefix(v.Arg, "X-Greylist: delayed 301 seconds by mailwarden-test at mx.test; ") {
				t.Errorf("%s: %+v, want the X-Greylist header", s.name, v)
			}
		}
	}
}

func TestRetryWindowStartsOver(t *testing.T) {
	h := newHarness(t, nil)
	greyed(t, h.rcpt(server, "a@example.org", "bob@example.com"))
	h.clock.Add(49 * time.Hour) // past the 2-day window
	greyed(t, h.rcpt(server, "a@example.org", "bob@example.com"))
	h.clock.Add(299 * time.Second)
	greyed(t, h.rcpt(server, "a@example.org", "bob@example.com"))
	h.clock.Add(2 * time.Second)
	passed(t, h.rcpt(server, "a@example.org", "bob@example.com"))
}

func TestSecondsLeftText(t *testing.T) {
	h := newHarness(t, func(c *config.Greylist) { c.Text = "4.7.1 wait %s seconds for %r" })
	v := h.rcpt(server, "a@example.org", "bob@example.com")
	if v.Enhanced != "4.7.1" || v.Text != "<bob@example.com>: Recipient address rejected: wait 300 seconds for example.com" {
		t.Fatalf("%+v", v)
	}
	h.clock.Add(120 * time.Second)
	if v := h.rcpt(server, "a@example.org", "bob@example.com"); !strings.Contains(v.Text, "wait 180 seconds") {
		t.Fatalf("%+v", v)
	}
}

// postgrey --greylist-action: DEFER and 4NN refuse at once.
func TestGreylistAction(t *testing.T) {
	for _, tc := range []struct {
		action string
		want   policy.Action
		code   int
	}{{"", policy.DeferIfPermit, 450}, {"DEFER_IF_PERMIT", policy.DeferIfPermit, 450}, {"defer", policy.Defer, 450}, {"451", policy.Defer, 451}} {
		h := newHarness(t, func(c *config.Greylist) { c.Action = tc.action })
		if v := h.rcpt(server, "a@example.org", "bob@example.com"); v.Action != tc.want || v.Code != tc.code || v.Text != greyText {
			t.Errorf("action %q: %+v", tc.action, v)
		}
	}
}

// postgrey's auto-whitelist: after N successful retries (one an hour
// counting), the client address passes with new triplets too.
func TestAutoWhitelist(t *testing.T) {
	h := newHarness(t, func(c *config.Greylist) { c.AutoWhitelistClients = 2 })
	for i, from := range []string{"a@example.org", "b@example.org"} {
		greyed(t, h.rcpt(server, from, "bob@example.com"))
		h.clock.Add(301 * time.Second)
		passed(t, h.rcpt(server, from, "bob@example.com"))
		if i == 0 {
			h.clock.Add(30 * time.Minute) // a second success within the hour does not count
			greyed(t, h.rcpt(server, "x@example.org", "bob@example.com"))
			h.clock.Add(301 * time.Second)
			passed(t, h.rcpt(server, "x@example.org", "bob@example.com"))
			greyed(t, h.rcpt(server, "y@example.org", "bob@example.com"))
			h.clock.Add(time.Hour)
		}
	}
	if v := h.rcpt(server, "new@example.org", "bob@example.com"); v.Action != policy.Dunno {
		t.Fatalf("auto-whitelisted client: %+v", v)
	}
	// The address is whitelisted, not its network.
	greyed(t, h.rcpt(server2, "new@example.org", "bob@example.com"))
}

func TestWhitelistFilesAndHooks(t *testing.T) {
	dir := t.TempDir()
	cl := filepath.Join(dir, "clients")
	rc := filepath.Join(dir, "recipients")
	write(t, cl, "# known senders\nexample.org\n203.0.113\n/^p[0-9]+-ipad/\n")
	write(t, rc, "postmaster@\nabuse@example.com\nlists.example.net\n")
	h := newHarness(t, func(c *config.Greylist) { c.WhitelistClients = []string{cl}; c.WhitelistRecipients = []string{rc} })
	for _, tc := range []struct {
		c    client
		to   string
		want policy.Action
	}{
		{server, "bob@example.com", policy.Dunno}, // example.org suffix
		{client{"192.0.2.1", "mx.other.test"}, "bob@example.com", policy.DeferIfPermit},
		{noname, "bob@example.com", policy.Dunno},  // 203.0.113/24
		{dynamic, "bob@example.com", policy.Dunno}, // regexp
		{client{"192.0.2.1", "mx.other.test"}, "postmaster@example.com", policy.Dunno},
		{client{"192.0.2.1", "mx.other.test"}, "abuse+x@example.com", policy.Dunno},
		{client{"192.0.2.1", "mx.other.test"}, "a@sub.lists.example.net", policy.Dunno},
		{client{"192.0.2.1", "mx.other.test"}, "a@notlists.example.net", policy.DeferIfPermit},
	} {
		if v := h.rcpt(tc.c, "s@sender.test", tc.to); v.Action != tc.want {
			t.Errorf("%v -> %s: %v, want %v", tc.c, tc.to, v.Action, tc.want)
		}
	}
	// The Skip hook (a DNSWL) lets a client through.
	h.g.o.Skip = func(_ context.Context, r *policy.Request) (bool, string) {
		return r.Env.ClientIP.String() == "192.0.2.1", "dnswl"
	}
	if v := h.rcpt(client{"192.0.2.1", "mx.other.test"}, "s2@sender.test", "bob@example.com"); v.Action != policy.Dunno {
		t.Errorf("skip hook: %+v", v)
	}
}

// taRgrey: an S25R client waits at RCPT; reaching DATA passes the
// triplet; one that hung up is greylisted next time, and passes when it
// retries after the delay.
func TestTarpit(t *testing.T) {
	h := newHarness(t, func(c *config.Greylist) { c.Tarpit = config.Duration(125 * time.Second) })
	// A client that waits and sends DATA.
	passed(t, h.rcpt(dynamic, "a@example.org", "bob@example.com"))
	passed(t, h.rcpt(dynamic, "a@example.org", "carol@example.com", "bob@example.com")) // same transaction: no second wait
	if len(h.slept) != 1 || h.slept[0] != 125*time.Second {
		t.Fatalf("slept %v, want one 125s tarpit", h.slept)
	}
	passed(t, h.data(dynamic, "a@example.org", "bob@example.com", "carol@example.com"))
	if v := h.rcpt(dynamic, "a@example.org", "bob@example.com"); v.Action != policy.Dunno {
		t.Fatalf("passed triplet: %+v", v)
	}
	if len(h.slept) != 1 {
		t.Fatalf("a passed triplet was tarpitted again: %v", h.slept)
	}
	// A client that hangs up during the tarpit (no DATA).
	h.slept = nil
	passed(t, h.rcpt(noname, "spam@example.org", "bob@example.com"))
	greyed(t, h.rcpt(noname, "spam@example.org", "bob@example.com")) // back at once: greylisted, no tarpit
	if len(h.slept) != 1 {
		t.Fatalf("slept %v", h.slept)
	}
	h.clock.Add(300 * time.Second)
	passed(t, h.rcpt(noname, "spam@example.org", "bob@example.com")) // after the delay
	// A server that does not look dynamic is neither delayed nor greylisted.
	h.slept = nil
	if v := h.rcpt(server, "a@example.org", "bob@example.com"); v.Action != policy.Dunno || len(h.slept) != 0 {
		t.Fatalf("non-S25R client: %+v, slept %v", v, h.slept)
	}
	// The end-of-data stage marks a tarpitted triplet passed too.
	passed(t, h.rcpt(dynamic, "eod@example.org", "bob@example.com"))
	env := &envelope.Envelope{ClientIP: netip.MustParseAddr(dynamic.ip), ClientHost: dynamic.host, From: "eod@example.org",
		Recipients: []envelope.Recipient{{Address: "bob@example.com"}}}
	h.g.Check(context.Background(), policy.KindEndOfData, &policy.Request{Stage: policy.EndOfData, Env: env, Sender: "eod@example.org"})
	h.slept = nil
	if v := h.rcpt(dynamic, "eod@example.org", "bob@example.com"); v.Action != policy.Dunno || len(h.slept) != 0 {
		t.Fatalf("passed at end of data: %+v, slept %v", v, h.slept)
	}
	// A tarpit cut short (the session ended) defers.
	h.hangUp = true
	greyed(t, h.rcpt(dynamic, "b@example.org", "bob@example.com"))
}

// A policy server lets Postfix do the waiting (SLEEP N).
func TestSleepElsewhere(t *testing.T) {
	h := newHarness(t, func(c *config.Greylist) { c.Tarpit = config.Duration(125 * time.Second) })
	ctx, slept := SleepElsewhere(context.Background())
	env := &envelope.Envelope{ClientIP: netip.MustParseAddr(dynamic.ip), ClientHost: dynamic.host, From: "a@example.org"}
	v := h.g.Check(ctx, policy.KindRecipient, &policy.Request{Stage: policy.Rcpt, Env: env, Sender: "a@example.org", Recipient: "bob@example.com"})
	if v.Action != policy.Dunno || slept() != 125*time.Second || len(h.slept) != 0 {
		t.Fatalf("%+v, SLEEP %v, waited in process %v", v, slept(), h.slept)
	}
	ctx, slept = SleepElsewhere(context.Background())
	env.ClientIP, env.ClientHost = netip.MustParseAddr(server.ip), server.host
	h.g.Check(ctx, policy.KindRecipient, &policy.Request{Stage: policy.Rcpt, Env: env, Sender: "a@example.org", Recipient: "bob@example.com"})
	if slept() != 0 {
		t.Fatalf("a non-S25R client: SLEEP %v", slept())
	}
}

func TestTarpitEveryClient(t *testing.T) {
	h := newHarness(t, func(c *config.Greylist) { c.Tarpit = config.Duration(2 * time.Second); c.TarpitS25R = false })
	passed(t, h.rcpt(server, "a@example.org", "bob@example.com"))
	if len(h.slept) != 1 {
		t.Fatalf("slept %v", h.slept)
	}
}

func TestGreylistNonS25R(t *testing.T) {
	h := newHarness(t, func(c *config.Greylist) { c.Tarpit = config.Duration(2 * time.Second); c.GreylistNonS25R = true })
	greyed(t, h.rcpt(server, "a@example.org", "bob@example.com"))
	if len(h.slept) != 0 {
		t.Fatalf("slept %v", h.slept)
	}
}

func TestSweep(t *testing.T) {
	h := newHarness(t, nil)
	greyed(t, h.rcpt(server, "a@example.org", "bob@example.com"))
	h.clock.Add(34 * 24 * time.Hour)
	if n, err := h.g.Sweep(context.Background()); err != nil || n != 0 {
		t.Fatalf("sweep %d %v", n, err)
	}
	h.clock.Add(2 * 24 * time.Hour)
	if n, err := h.g.Sweep(context.Background()); err != nil || n != 1 {
		t.Fatalf("sweep %d %v, want 1", n, err)
	}
}

// [greylist] dnswl: a client listed on a DNS allow list (with the
// list's filter) is not greylisted; one not listed, or listed with an
// answer the filter refuses, is; a list that fails to answer greylists.
func TestDNSWLSkipsGreylisting(t *testing.T) {
	dns := dnstest.New(t, `
1.2.0.192.dnswl.test. 300 A 127.0.10.2
2.2.0.192.dnswl.test. 300 A 127.0.10.0
`)
	dns.ServFail("3.2.0.192.dnswl.test", true)
	db, err := sqldb.Open(context.Background(), filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	cfg := config.DefaultGreylist()
	cfg.DNSWL = []string{"dnswl.test=127.0.[0..255].[1..3]"}
	g, err := Open(db, cfg, Options{DNS: dns.Resolver()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Close() })
	for _, tc := range []struct {
		ip   string
		want policy.Action
	}{
		{"192.0.2.1", policy.Dunno},         // listed, trust level 2
		{"192.0.2.2", policy.DeferIfPermit}, // listed with a level the filter refuses
		{"192.0.2.3", policy.DeferIfPermit}, // the list fails: greylisted as usual
		{"198.51.100.4", policy.DeferIfPermit},
	} {
		env := &envelope.Envelope{ClientIP: netip.MustParseAddr(tc.ip), ClientHost: "unknown"}
		v := g.Check(context.Background(), policy.KindRecipient, &policy.Request{Stage: policy.Rcpt, Env: env, Sender: "s@a.test", Recipient: "r@b.test"})
		if v.Action != tc.want {
			t.Errorf("%s: %v, want %v", tc.ip, v.Action, tc.want)
		}
	}
	if err := CheckFiles(config.Greylist{DNSWL: []string{"dnswl.test=127.0.0.[x"}}, "+"); err == nil {
		t.Error("a bad dnswl filter passed the config check")
	}
}
