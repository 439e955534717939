package policyd

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"mailwarden/internal/config"
	"mailwarden/internal/policy"
	"mailwarden/internal/policyproto"
)

func query(state, client, rcpt, instance string) policyproto.Attrs {
	return policyproto.Attrs{{Name: "request", Value: "smtpd_access_policy"}, {Name: "protocol_state", Value: state},
		{Name: "protocol_name", Value: "ESMTP"}, {Name: "client_address", Value: client}, {Name: "client_name", Value: "unknown"},
		{Name: "helo_name", Value: "h.example"}, {Name: "sender", Value: "s@b.example"}, {Name: "recipient", Value: rcpt},
		{Name: "instance", Value: instance}, {Name: "size", Value: "0"}}
}

func configWith(entries ...string) *config.Config {
	cfg := config.Default()
	cfg.Restrictions.Recipient = entries
	cfg.Restrictions.Set = map[string]bool{"recipient": true}
	return cfg
}

// built is a list as `mailwarden policyd --restriction` builds it.
func built(t *testing.T, entries ...string) policy.List {
	ls, err := policy.Build("smtp", configWith(entries...), policy.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	return ls.Recipient
}

func start(t testing.TB, o Options) (*Server, string) {
	t.Helper()
	s := New(o)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go s.Serve(l)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s.Shutdown(ctx)
	})
	return s, l.Addr().String()
}

func client(addr string) *policy.PolicyClient {
	return policy.NewPolicyClient("tcp", addr, "inet:"+addr, policy.PolicyServiceSettings{Timeout: 10 * time.Second,
		MaxIdle: time.Minute, MaxTTL: time.Hour, TryLimit: 1, RetryDelay: time.Millisecond, MaxConnections: 8})
}

func TestAnswers(t *testing.T) {
	greylist := policy.Func("check_greylist", func(_ context.Context, r *policy.Request) policy.Verdict {
		if r.Stage != policy.Rcpt {
			return policy.Verdict{}
		}
		return policy.Verdict{Action: policy.DeferIfPermit, Code: 450, Enhanced: "4.2.0",
			Text: "<" + r.Recipient + ">: Recipient address rejected: Greylisted, see http://postgrey.schweikert.ch/help/here.example.html"}
	})
	dbDown := policy.Func("check_greylist", func(_ context.Context, r *policy.Request) policy.Verdict {
		return policy.Verdict{Action: policy.Defer, Code: 451, Enhanced: "4.3.0", Text: "<" + r.Recipient + ">: Recipient address rejected: Temporary lookup failure"}
	})
	slow := policy.Func("sleepy", func(ctx context.Context, r *policy.Request) policy.Verdict {
		time.Sleep(3 * time.Second) // ignores ctx, as a stuck driver might
		return policy.Verdict{}
	})
	header := policy.Func("hdr", func(context.Context, *policy.Request) policy.Verdict {
		return policy.Verdict{Action: policy.Prepend, Arg: "X-Greylist: delayed 2 seconds"}
	})
	for _, tc := range []struct {
		name  string
		list  policy.List
		q     policyproto.Attrs
		want  string
		rtime time.Duration
	}{
		{"greylisted", policy.List{greylist}, query("RCPT", "192.0.2.1", "a@here.example", "1"),
			"DEFER_IF_PERMIT 4.2.0 Greylisted, see http://postgrey.schweikert.ch/help/here.example.html", 0},
		{"reject wins over defer_if_permit", policy.List{greylist, built(t, "reject")[0]}, query("RCPT", "192.0.2.1", "a@here.example", "1"),
			"554 5.7.1 Access denied", 0},
		{"client table", built(t, "check_client_access inline:{192.0.2.9=REJECT}"), query("RCPT", "192.0.2.9", "a@here.example", "1"),
			"554 5.7.1 Access denied", 0},
		{"permit answers DUNNO", built(t, "permit_mynetworks", "reject"), query("RCPT", "127.0.0.1", "a@here.example", "1"), "DUNNO", 0},
		{"mynetworks does not cover others", built(t, "permit_mynetworks", "defer"), query("RCPT", "192.0.2.1", "a@here.example", "1"),
			"450 4.7.1 Access denied", 0},
		{"database down", policy.List{dbDown}, query("RCPT", "192.0.2.1", "a@here.example", "1"), "451 4.3.0 Temporary lookup failure", 0},
		{"too slow", policy.List{slow}, query("RCPT", "192.0.2.1", "a@here.example", "1"), "451 4.3.5 Server configuration problem", 100 * time.Millisecond},
		{"a side effect", policy.List{header}, query("RCPT", "192.0.2.1", "a@here.example", "1"), "PREPEND X-Greylist: delayed 2 seconds", 0},
		{"not at this stage", policy.List{greylist}, query("DATA", "192.0.2.1", "", "1"), "DUNNO", 0},
		{"not a policy query", policy.List{greylist}, policyproto.Attrs{{Name: "request", Value: "junk"}}, "DUNNO", 0},
		{"ETRN", policy.List{greylist}, query("ETRN", "192.0.2.1", "", ""), "DUNNO", 0},
		{"no client address", policy.List{greylist}, query("RCPT", "", "a@here.example", "1"), "DUNNO", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, addr := start(t, Options{List: func() policy.List { return tc.list }, RequestTimeout: tc.rtime,
				MyNetworks: func(ip netip.Addr) bool { return ip.IsLoopback() }})
			c := client(addr)
			defer c.Close()
			got, err := c.Query(context.Background(), tc.q)
			if err != nil || got != tc.want {
				t.Fatalf("got %q %v, want %q", got, err, tc.want)
			}
		})
	}
}

// The DATA stage sees the recipients the RCPT requests of the same
// instance were not refused for.
func TestTransactionRecipients(t *testing.T) {
	var mu sync.Mutex
	var seen []string
	list := policy.List{policy.Func("look", func(_ context.Context, r *policy.Request) policy.Verdict {
		if r.Stage == policy.Data {
			mu.Lock()
			for _, rc := range r.Env.Recipients {
				seen = append(seen, rc.Address)
			}
			mu.Unlock()
		}
		if r.Recipient == "no@here.example" {
			return policy.Verdict{Action: policy.Reject, Code: 550, Text: "no"}
		}
		return policy.Verdict{}
	})}
	_, addr := start(t, Options{List: func() policy.List { return list }})
	c := client(addr)
	defer c.Close()
	ctx := context.Background()
	for _, q := range []policyproto.Attrs{query("RCPT", "192.0.2.1", "a@here.example", "tx1"), query("RCPT", "192.0.2.1", "no@here.example", "tx1"),
		query("RCPT", "192.0.2.1", "b@here.example", "tx1"), query("RCPT", "192.0.2.1", "c@here.example", "tx2"), query("DATA", "192.0.2.1", "", "tx1")} {
		if _, err := c.Query(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	if strings.Join(seen, ",") != "a@here.example,b@here.example" {
		t.Fatalf("DATA saw %q", seen)
	}
}

// Limits: a malformed or oversized request closes the connection; past
// max connections a client is closed at once; many clients with many
// requests each get their own answers.
func TestLimitsAndConcurrency(t *testing.T) {
	echo := policy.List{policy.Func("echo", func(_ context.Context, r *policy.Request) policy.Verdict {
		return policy.Verdict{Action: policy.Prepend, Arg: "X-Rcpt: " + r.Recipient}
	})}
	_, addr := start(t, Options{List: func() policy.List { return echo }, MaxConnections: 3,
		Limits: policyproto.Limits{MaxLine: 200, MaxSize: 1000}})
	ctx := context.Background()
	for _, bad := range []string{"junk\n\n", "a=" + strings.Repeat("x", 300) + "\n\n", strings.Repeat("a=1234567890\n", 100) + "\n"} {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		c.Write([]byte(bad))
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if n, err := c.Read(make([]byte, 100)); err == nil {
			t.Errorf("%.20q: got %d bytes of reply, want the connection closed", bad, n)
		}
		c.Close()
	}

	// Three clients hold every slot; a fourth is closed at once.
	var held []net.Conn
	for i := 0; i < 3; i++ {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		policyproto.Write(c, query("RCPT", "192.0.2.1", "h@here.example", "x"))
		if _, err := policyproto.NewReader(c, policyproto.Limits{}).Read(); err != nil {
			t.Fatal(err)
		}
		held = append(held, c)
	}
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	policyproto.Write(c, query("RCPT", "192.0.2.1", "h@here.example", "x"))
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := policyproto.NewReader(c, policyproto.Limits{}).Read(); err == nil {
		t.Error("a fourth connection was served past MaxConnections 3")
	}
	c.Close()
	for _, h := range held {
		h.Close()
	}

	pc2 := policy.NewPolicyClient("tcp", addr, addr, policy.PolicyServiceSettings{Timeout: 10 * time.Second,
		MaxIdle: time.Minute, MaxTTL: time.Hour, TryLimit: 3, RetryDelay: 50 * time.Millisecond, MaxConnections: 3})
	defer pc2.Close()
	var wg sync.WaitGroup
	errs := make(chan error, 300)
	for g := 0; g < 30; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 10; i++ {
				rcpt := fmt.Sprintf("r%d.%d@here.example", g, i)
				a, err := pc2.Query(ctx, query("RCPT", "192.0.2.1", rcpt, fmt.Sprint(g)))
				if err == nil && a != "PREPEND X-Rcpt: "+rcpt {
					err = fmt.Errorf("crossed answer %q for %s", a, rcpt)
				}
				if err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

type sleepKey struct{}

// With SleepElsewhere a check's wait becomes a "sleep N" answer (Postfix
// waits, as with taRgrey); a refusal is answered without a wait.
func TestSleepElsewhere(t *testing.T) {
	tarpit := func(also policy.Verdict) policy.List {
		return policy.List{policy.Func("check_greylist", func(ctx context.Context, r *policy.Request) policy.Verdict {
			if d, ok := ctx.Value(sleepKey{}).(*time.Duration); ok {
				*d = 1500 * time.Millisecond
			}
			return also
		})}
	}
	elsewhere := func(ctx context.Context) (context.Context, func() time.Duration) {
		d := new(time.Duration)
		return context.WithValue(ctx, sleepKey{}, d), func() time.Duration { return *d }
	}
	for _, tc := range []struct {
		name string
		also policy.Verdict
		want string
	}{
		{"tarpit", policy.Verdict{}, "sleep 2"},
		{"tarpit and a header", policy.Verdict{Action: policy.Prepend, Arg: "X-A: b"}, "sleep 2"},
		{"refused", policy.Verdict{Action: policy.Reject, Code: 554, Enhanced: "5.7.1", Text: "no"}, "554 5.7.1 no"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			list := tarpit(tc.also)
			_, addr := start(t, Options{List: func() policy.List { return list }, SleepElsewhere: elsewhere})
			c := client(addr)
			defer c.Close()
			if got, err := c.Query(context.Background(), query("RCPT", "192.0.2.1", "a@here.example", "1")); err != nil || got != tc.want {
				t.Fatalf("got %q %v, want %q", got, err, tc.want)
			}
		})
	}
}
