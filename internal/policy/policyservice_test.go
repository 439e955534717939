package policy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"mailwarden/internal/config"
	"mailwarden/internal/directory"
	"mailwarden/internal/envelope"
	"mailwarden/internal/policyproto"
)

// fakePolicyServer answers each request with reply(attrs); a reply of ""
// never answers (the connection hangs), "close" closes the connection.
type fakePolicyServer struct {
	l        net.Listener
	conns    atomic.Int32
	requests atomic.Int32
	mu       sync.Mutex
	last     policyproto.Attrs
}

func startPolicyServer(t *testing.T, network string, reply func(policyproto.Attrs) string) (*fakePolicyServer, string) {
	t.Helper()
	addr := "127.0.0.1:0"
	if network == "unix" {
		addr = filepath.Join(t.TempDir(), "policy.sock")
	}
	l, err := net.Listen(network, addr)
	if err != nil {
		t.Fatal(err)
	}
	s := &fakePolicyServer{l: l}
	var wg sync.WaitGroup
	t.Cleanup(func() { l.Close(); wg.Wait() })
	var open sync.Map
	t.Cleanup(func() {
		open.Range(func(k, _ any) bool { k.(net.Conn).Close(); return true })
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			s.conns.Add(1)
			open.Store(c, true)
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				r := policyproto.NewReader(c, policyproto.Limits{})
				for {
					attrs, err := r.Read()
					if err != nil {
						return
					}
					s.requests.Add(1)
					s.mu.Lock()
					s.last = attrs
					s.mu.Unlock()
					switch a := reply(attrs); a {
					case "":
						io.Copy(io.Discard, c) // never answers; the test's cleanup closes c
					case "close":
						return
					case "noaction":
						policyproto.Write(c, policyproto.Attrs{{Name: "result", Value: "x"}})
					default:
						policyproto.Write(c, policyproto.Reply(a))
					}
				}
			}()
		}
	}()
	if network == "unix" {
		return s, "unix:" + addr
	}
	return s, "inet:" + l.Addr().String()
}

func policyRequest() *Request {
	return &Request{Stage: Rcpt, Sender: "s@b.example", Recipient: "a@here.example", Instance: "1.2.3",
		Resolution: &directory.Resolution{Class: directory.Virtual},
		Server:     netip.MustParseAddrPort("127.0.0.1:25"),
		Env: &envelope.Envelope{ClientIP: netip.MustParseAddr("192.0.2.7"), ClientHost: "unknown", Helo: "mx.b.example", Protocol: "ESMTP",
			Client: envelope.Client{Port: 40000, ReverseHost: "x.b.example", TLSVersion: "TLSv1.3", TLSCipher: "TLS_AES_128_GCM_SHA256"}}}
}

func buildPolicyList(t *testing.T, entry string, set map[string]string) List {
	t.Helper()
	cfg := restrictionsConfig(map[string][]string{"recipient": {entry}}, nil)
	p := &cfg.Restrictions.PolicyService
	p.PolicyServiceRetryDelay = 1 // 1ns: the tests do not wait between tries
	for k, v := range set {
		d, _ := time.ParseDuration(v)
		switch k {
		case "timeout":
			p.PolicyServiceTimeout = config.Duration(d)
		case "default_action":
			p.PolicyServiceDefaultAction = v
		case "try_limit":
			fmt.Sscan(v, &p.PolicyServiceTryLimit)
		case "request_limit":
			fmt.Sscan(v, &p.PolicyServiceRequestLimit)
		}
	}
	ls, err := Build("smtp", cfg, Deps{})
	if err != nil {
		t.Fatal(err)
	}
	return ls.Recipient
}

func evalReply(l List, r *Request) string {
	var effect *Verdict
	v := l.Eval(context.Background(), r, func(e Verdict) {
		if effect == nil {
			effect = &e
		}
	})
	if v.Action == Dunno && effect != nil {
		v = *effect
	}
	if v.Action == Permit || v.Action == Dunno {
		return v.Action.String()
	}
	if v.Code == 0 {
		return v.Action.String() + " " + v.Arg
	}
	return v.Reply()
}

// The server's action is an access(5) action worded as Postfix words it.
func TestPolicyServiceActions(t *testing.T) {
	for _, tc := range []struct{ action, want string }{
		{"DUNNO", "dunno"},
		{"OK", "permit"},
		{"REJECT go away", "554 5.7.1 <a@here.example>: Recipient address rejected: go away"},
		{"450 4.2.0 try later", "450 4.2.0 <a@here.example>: Recipient address rejected: try later"},
		{"DEFER_IF_PERMIT 4.2.0 Greylisted, see http://postgrey.schweikert.ch/help/here.example.html",
			"450 4.2.0 <a@here.example>: Recipient address rejected: Greylisted, see http://postgrey.schweikert.ch/help/here.example.html"},
		{"PREPEND X-Greylist: delayed 2 seconds", "prepend X-Greylist: delayed 2 seconds"},
		{"HOLD", "hold "},
		{"reject_unauth_destination", "dunno"}, // a restriction name: evaluated (the recipient is ours)
		{"NO_SUCH_ACTION", "451 4.3.5 Server configuration error"},
	} {
		t.Run(tc.action, func(t *testing.T) {
			_, ep := startPolicyServer(t, "tcp", func(policyproto.Attrs) string { return tc.action })
			if got := evalReply(buildPolicyList(t, "check_policy_service "+ep, nil), policyRequest()); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// Every attribute Postfix 3.x sends is sent, in Postfix's order.
func TestPolicyServiceAttributes(t *testing.T) {
	srv, ep := startPolicyServer(t, "unix", func(policyproto.Attrs) string { return "DUNNO" })
	l := buildPolicyList(t, "check_policy_service { "+ep+", policy_context=mx-in }", nil)
	evalReply(l, policyRequest())
	srv.mu.Lock()
	got := srv.last
	srv.mu.Unlock()
	if len(got) != len(policyproto.RequestNames) {
		t.Fatalf("%d attributes, want %d: %q", len(got), len(policyproto.RequestNames), got)
	}
	for i, n := range policyproto.RequestNames {
		if got[i].Name != n {
			t.Errorf("attribute %d is %q, want %q", i, got[i].Name, n)
		}
	}
	want := map[string]string{"request": "smtpd_access_policy", "protocol_state": "RCPT", "protocol_name": "ESMTP",
		"helo_name": "mx.b.example", "sender": "s@b.example", "recipient": "a@here.example", "recipient_count": "0",
		"client_address": "192.0.2.7", "client_name": "unknown", "reverse_client_name": "x.b.example", "instance": "1.2.3",
		"size": "0", "encryption_protocol": "TLSv1.3", "encryption_cipher": "TLS_AES_128_GCM_SHA256", "encryption_keysize": "128",
		"client_port": "40000", "policy_context": "mx-in", "server_address": "127.0.0.1", "server_port": "25"}
	for k, v := range want {
		if g := got.Value(k); g != v {
			t.Errorf("%s=%q, want %q", k, g, v)
		}
	}
}

// A service that never answers gives the default action after the
// timeout (try_limit tries); a dead one gives it at once.
func TestPolicyServiceFailures(t *testing.T) {
	_, hang := startPolicyServer(t, "tcp", func(policyproto.Attrs) string { return "" })
	_, closing := startPolicyServer(t, "tcp", func(policyproto.Attrs) string { return "close" })
	_, junk := startPolicyServer(t, "tcp", func(policyproto.Attrs) string { return "noaction" })
	dead := deadEndpoint(t)
	for _, tc := range []struct {
		name, entry string
		set         map[string]string
		want        string
	}{
		{"never answers: Postfix's default action", "check_policy_service " + hang, map[string]string{"timeout": "200ms"},
			"451 4.3.5 <a@here.example>: Recipient address rejected: Server configuration problem"},
		{"never answers, per-service settings", "check_policy_service { " + hang + ", timeout=200ms, default_action=DUNNO }", nil, "dunno"},
		{"dead: configured default action", "check_policy_service " + dead, map[string]string{"default_action": "DEFER_IF_PERMIT Policy service down"},
			"450 4.7.1 <a@here.example>: Recipient address rejected: Policy service down"},
		{"dead unix socket", "check_policy_service unix:" + filepath.Join(t.TempDir(), "none.sock"), nil,
			"451 4.3.5 <a@here.example>: Recipient address rejected: Server configuration problem"},
		{"closes without reply", "check_policy_service " + closing, nil,
			"451 4.3.5 <a@here.example>: Recipient address rejected: Server configuration problem"},
		{"reply without action", "check_policy_service { " + junk + ", default_action = { 450 4.3.0 no action } }", nil,
			"450 4.3.0 <a@here.example>: Recipient address rejected: no action"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := evalReply(buildPolicyList(t, tc.entry, tc.set), policyRequest()); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// deadEndpoint is a loopback port nothing listens on.
func deadEndpoint(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a := l.Addr().String()
	l.Close()
	return "inet:" + a
}

// Connections are kept and reused, request_limit closes them, a kept
// connection the server closed is replaced without failing the request,
// and many sessions at once share a bounded pool.
func TestPolicyClientPool(t *testing.T) {
	ctx := context.Background()
	req := RequestAttrs(policyRequest(), "")
	set := PolicyServiceSettings{Timeout: 5 * time.Second, MaxIdle: time.Minute, MaxTTL: time.Hour, TryLimit: 1,
		RetryDelay: time.Millisecond, DefaultAction: "DUNNO", MaxConnections: 4}
	t.Run("reuse", func(t *testing.T) {
		srv, ep := startPolicyServer(t, "tcp", func(policyproto.Attrs) string { return "DUNNO" })
		c := NewPolicyClient("tcp", strings.TrimPrefix(ep, "inet:"), ep, set)
		defer c.Close()
		for i := 0; i < 10; i++ {
			if a, err := c.Query(ctx, req); err != nil || a != "DUNNO" {
				t.Fatalf("query %d: %q %v", i, a, err)
			}
		}
		if n := srv.conns.Load(); n != 1 {
			t.Errorf("%d connections for 10 sequential requests, want 1", n)
		}
	})
	t.Run("request_limit", func(t *testing.T) {
		srv, ep := startPolicyServer(t, "tcp", func(policyproto.Attrs) string { return "DUNNO" })
		s := set
		s.RequestLimit = 3
		c := NewPolicyClient("tcp", strings.TrimPrefix(ep, "inet:"), ep, s)
		defer c.Close()
		for i := 0; i < 9; i++ {
			if _, err := c.Query(ctx, req); err != nil {
				t.Fatal(err)
			}
		}
		if n := srv.conns.Load(); n != 3 {
			t.Errorf("%d connections for 9 requests with request_limit 3, want 3", n)
		}
	})
	t.Run("server closes kept connection", func(t *testing.T) {
		var n atomic.Int32
		srv, ep := startPolicyServer(t, "tcp", func(policyproto.Attrs) string {
			if n.Add(1) == 2 {
				return "close" // the second request finds the kept connection closed
			}
			return "OK"
		})
		c := NewPolicyClient("tcp", strings.TrimPrefix(ep, "inet:"), ep, set) // try_limit 1
		defer c.Close()
		for i := 0; i < 3; i++ {
			if a, err := c.Query(ctx, req); err != nil || a != "OK" {
				t.Fatalf("query %d: %q %v", i, a, err)
			}
		}
		if srv.conns.Load() != 2 {
			t.Errorf("%d connections, want 2", srv.conns.Load())
		}
	})
	t.Run("concurrent", func(t *testing.T) {
		srv, ep := startPolicyServer(t, "tcp", func(a policyproto.Attrs) string { return "PREPEND X-Rcpt: " + a.Value("recipient") })
		c := NewPolicyClient("tcp", strings.TrimPrefix(ep, "inet:"), ep, set)
		defer c.Close()
		var wg sync.WaitGroup
		errs := make(chan error, 400)
		for g := 0; g < 40; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < 10; i++ {
					r := policyRequest()
					r.Recipient = fmt.Sprintf("r%d-%d@here.example", g, i)
					a, err := c.Query(ctx, RequestAttrs(r, ""))
					if err == nil && a != "PREPEND X-Rcpt: "+r.Recipient {
						err = errors.New("crossed reply: " + a + " for " + r.Recipient)
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
		if n := srv.conns.Load(); n > int32(set.MaxConnections) {
			t.Errorf("%d connections, limit %d", n, set.MaxConnections)
		}
		if c.Idle() > set.MaxConnections {
			t.Errorf("%d idle", c.Idle())
		}
	})
}

func TestParsePolicyServiceArgs(t *testing.T) {
	def := PolicyServiceSettings{Timeout: 100 * time.Second, TryLimit: 2, DefaultAction: "451 4.3.5 Server configuration problem"}
	for _, tc := range []struct {
		in       string
		endpoint string
		check    func(PolicyServiceSettings) bool
		err      string
	}{
		{in: "inet:127.0.0.1:10023", endpoint: "inet:127.0.0.1:10023", check: func(s PolicyServiceSettings) bool { return s == def }},
		{in: "{ inet:127.0.0.1:10023, timeout=10s, default_action=DUNNO }", endpoint: "inet:127.0.0.1:10023",
			check: func(s PolicyServiceSettings) bool { return s.Timeout == 10*time.Second && s.DefaultAction == "DUNNO" }},
		{in: "{unix:/run/p.sock,try_limit = 1, policy_context=submission, max_idle=2m}", endpoint: "unix:/run/p.sock",
			check: func(s PolicyServiceSettings) bool {
				return s.TryLimit == 1 && s.PolicyContext == "submission" && s.MaxIdle == 2*time.Minute
			}},
		{in: "{ inet:h:1, default_action = { 450 4.7.1 Try again, later } }", endpoint: "inet:h:1",
			check: func(s PolicyServiceSettings) bool { return s.DefaultAction == "450 4.7.1 Try again, later" }},
		{in: "", err: "wants"},
		{in: "inet:a:1 inet:b:2", err: "wants"},
		{in: "{ inet:a:1, timeout=0 }", err: "timeout"},
		{in: "{ inet:a:1, try_limit=0 }", err: "try_limit"},
		{in: "{ inet:a:1, colour=blue }", err: "unknown setting"},
		{in: "{ inet:a:1, default_action={ x }", err: "}"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			set := def
			var args []string
			if tc.in != "" {
				args = strings.Fields(tc.in)
			}
			ep, err := parsePolicyServiceArgs(args, &set)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil || ep != tc.endpoint || !tc.check(set) {
				t.Fatalf("got %q %+v %v", ep, set, err)
			}
		})
	}
	for _, bad := range []string{"tcp:1.2.3.4:5", "inet:host", "inet:h:99999", "unix:"} {
		if _, _, err := policyEndpoint(bad); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}

// FuzzParsePolicyServiceArgs: any entry either fails with an error or
// gives an endpoint and settings the client can use.
func FuzzParsePolicyServiceArgs(f *testing.F) {
	for _, s := range []string{"inet:127.0.0.1:10023", "{ inet:127.0.0.1:10023, timeout=10s, default_action=DUNNO }",
		"{unix:/run/p.sock,try_limit = 1, policy_context=submission, max_idle=2m}", "{ inet:h:1, default_action = { 450 4.7.1 Try again, later } }",
		"{ inet:a:1, default_action={ x }", "{{{", "}", "{ = = }", "{ inet:a:1 , , timeout= }"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		set := PolicyServiceSettings{Timeout: time.Second, TryLimit: 2, DefaultAction: "DUNNO"}
		ep, err := parsePolicyServiceArgs(strings.Fields(in), &set)
		if err != nil {
			return
		}
		if ep == "" || set.Timeout <= 0 || set.TryLimit < 1 || set.DefaultAction == "" || set.RequestLimit < 0 {
			t.Fatalf("%q: endpoint %q, settings %+v", in, ep, set)
		}
	})
}
