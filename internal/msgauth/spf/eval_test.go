package spf

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"mailwarden/internal/dnsx"
	"mailwarden/internal/dnsx/dnstest"
)

func newChecker(t testing.TB, zone string) (*Checker, *dnstest.Server) {
	t.Helper()
	s := dnstest.New(t, zone)
	r, err := dnsx.New([]string{s.Addr()}, 300*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	return &Checker{DNS: dnsx.NewRRCache(r.(dnsx.RRLookup), 0), Receiver: "mx.receiver.example"}, s
}

const evalZone = `
example.com. TXT "v=spf1 ip4:192.0.2.0/24 include:_spf.example.com -all"
_spf.example.com. TXT "v=spf1 a:relay.example.com ~all"
relay.example.com. A 198.51.100.7
helo.example.com. TXT "v=spf1 a -all"
helo.example.com. A 203.0.113.5
soft.example.com. TXT "v=spf1 ~all"
neutral.example.com. TXT "v=spf1 ip4:10.0.0.1"
perm.example.com. TXT "v=spf1 ip4:192.0.2.1 -all bogus"
exp.example.com. TXT "v=spf1 -all exp=why.example.com"
why.example.com. TXT "%{i} is not one of %{d}'s senders (ask %{r})"
`

func TestCheckResults(t *testing.T) {
	c, _ := newChecker(t, evalZone)
	ctx := context.Background()
	for _, tc := range []struct {
		ip, from, helo string
		want           Result
		mech, exp      string
	}{
		{"192.0.2.10", "a@example.com", "x.example", Pass, "ip4:192.0.2.0/24", ""},
		{"198.51.100.7", "a@example.com", "x.example", Pass, "include:_spf.example.com", ""},
		{"203.0.113.9", "a@example.com", "x.example", Fail, "-all", DefaultExplanation},
		{"203.0.113.9", "a@soft.example.com", "x.example", SoftFail, "~all", ""},
		{"203.0.113.9", "a@neutral.example.com", "x.example", Neutral, "default", ""},
		{"192.0.2.1", "a@perm.example.com", "x.example", PermError, "", ""},
		{"203.0.113.9", "a@nospf.example.com", "x.example", None, "", ""},
		{"203.0.113.5", "", "helo.example.com", Pass, "a", ""},
		{"203.0.113.9", "b@exp.example.com", "x.example", Fail, "-all", "203.0.113.9 is not one of exp.example.com's senders (ask mx.receiver.example)"},
		{"::ffff:192.0.2.10", "a@example.com", "x.example", Pass, "ip4:192.0.2.0/24", ""},
	} {
		v := c.CheckMailFrom(ctx, netip.MustParseAddr(tc.ip), tc.from, tc.helo)
		if v.Result != tc.want || v.Mechanism != tc.mech || (tc.exp != "" && v.Explanation != tc.exp) {
			t.Errorf("%s from <%s>: %s %q %q, want %s %q %q", tc.ip, tc.from, v.Result, v.Mechanism, v.Explanation, tc.want, tc.mech, tc.exp)
		}
		if v.Identity != MailFrom {
			t.Errorf("identity %s", v.Identity)
		}
	}
}

func TestCheckHELO(t *testing.T) {
	c, _ := newChecker(t, evalZone)
	ctx := context.Background()
	v := c.CheckHELO(ctx, netip.MustParseAddr("203.0.113.5"), "helo.example.com")
	if v.Result != Pass || v.Identity != HELO || v.Sender != "postmaster@helo.example.com" || v.Domain != "helo.example.com" {
		t.Errorf("HELO: %+v", v)
	}
	for _, helo := range []string{"[203.0.113.5]", "localhost", "203.0.113.5", ""} {
		if v := c.CheckHELO(ctx, netip.MustParseAddr("203.0.113.5"), helo); v.Result != None {
			t.Errorf("HELO %q: %s, want none", helo, v.Result)
		}
	}
}

// A resolver that does not answer gives TempError within the deadline.
func TestCheckDeadDNS(t *testing.T) {
	c, s := newChecker(t, evalZone)
	s.Drop("example.com", true)
	c.Timeout = 2 * time.Second
	done := make(chan *Verdict, 1)
	go func() {
		done <- c.CheckMailFrom(context.Background(), netip.MustParseAddr("192.0.2.10"), "a@example.com", "x.example")
	}()
	select {
	case v := <-done:
		if v.Result != TempError || v.Comment() == "" {
			t.Errorf("dead DNS: %s (%s)", v.Result, v.Comment())
		}
	case <-time.After(time.Minute):
		t.Fatal("evaluation hung")
	}
	s.Drop("example.com", false)
	s.ServFail("soft.example.com", true)
	if v := c.CheckMailFrom(context.Background(), netip.MustParseAddr("192.0.2.10"), "a@soft.example.com", "x"); v.Result != TempError {
		t.Errorf("SERVFAIL: %s", v.Result)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if v := c.CheckMailFrom(ctx, netip.MustParseAddr("192.0.2.10"), "a@neutral.example.com", "x"); v.Result != TempError {
		t.Errorf("canceled: %s", v.Result)
	}
}

func TestLimitsConfigurable(t *testing.T) {
	c, _ := newChecker(t, `
many.example. TXT "v=spf1 a:a1.example a:a2.example a:a3.example ?all"
a1.example. TXT "x"
a2.example. TXT "x"
a3.example. TXT "x"
`)
	ip := netip.MustParseAddr("192.0.2.1")
	if v := c.CheckMailFrom(context.Background(), ip, "x@many.example", "h"); v.Result != PermError || v.VoidLookups != 3 {
		t.Errorf("3 void lookups, limit 2: %s voids=%d", v.Result, v.VoidLookups)
	}
	c.MaxVoidLookups = 3
	if v := c.CheckMailFrom(context.Background(), ip, "x@many.example", "h"); v.Result != Neutral || v.Lookups != 3 {
		t.Errorf("3 void lookups, limit 3: %s lookups=%d", v.Result, v.Lookups)
	}
	c.MaxLookups = 2
	if v := c.CheckMailFrom(context.Background(), ip, "x@many.example", "h"); v.Result != PermError {
		t.Errorf("lookup limit 2: %s", v.Result)
	}
}

func TestVerdictText(t *testing.T) {
	if Pass.Title() != "Pass" || TempError.Title() != "Temperror" {
		t.Error("Title")
	}
	v := &Verdict{Result: PermError, Explanation: "bad"}
	if v.Comment() != "SPF Permanent Error: bad" {
		t.Error(v.Comment())
	}
}
