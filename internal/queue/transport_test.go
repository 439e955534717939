package queue

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"mailwarden/internal/testutil"
)

// authSink is a sink that offers AUTH PLAIN (after STARTTLS) and records
// the logins.
type authSink struct {
	*sink
	mu     sync.Mutex
	logins []string
}

func (a *authSink) NewSession(*smtp.Conn) (smtp.Session, error) {
	return &authSession{sinkSession: sinkSession{s: a.sink}, a: a}, nil
}

type authSession struct {
	sinkSession
	a *authSink
}

func (s *authSession) AuthMechanisms() []string { return []string{sasl.Plain} }

func (s *authSession) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		s.a.mu.Lock()
		s.a.logins = append(s.a.logins, user+":"+pass)
		s.a.mu.Unlock()
		if pass != "pw" {
			return errors.New("bad password")
		}
		return nil
	}), nil
}

// serveSink serves be on ln (LMTP when lmtp) until the test ends.
func serveSink(t *testing.T, ln net.Listener, be smtp.Backend, lmtp bool, configure func(*smtp.Server)) {
	t.Helper()
	srv := smtp.NewServer(be)
	srv.Domain, srv.LMTP = "relay.test", lmtp
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	if configure != nil {
		configure(srv)
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
}

func TestRouting(t *testing.T) {
	tests := []struct {
		name      string
		relayhost string // PORT: the sink's port; TLSPORT: the TLS sink's
		transport string // SOCK: the LMTP socket
		passwords string
		noDNS     bool
		rcpts     []string
		wantLog   []string
		wantSink  []string // recipients the MX/relay sink got
		wantLMTP  []string
		wantAuth  []string // logins the TLS sink saw
		wantDSN   string   // Status: of a bounce to the sender
	}{
		{name: "relayhost by IP without DNS", relayhost: "[127.0.0.2]:PORT", noDNS: true,
			rcpts:    []string{"b@nowhere.invalid", "c@elsewhere.invalid"},
			wantLog:  []string{"to=<b@nowhere.invalid>, relay=127.0.0.2[127.0.0.2]:PORT,", "to=<c@elsewhere.invalid>, relay=127.0.0.2[127.0.0.2]:PORT,", "status=sent (250 2.0.0"},
			wantSink: []string{"b@nowhere.invalid", "c@elsewhere.invalid"}},
		{name: "relayhost credentials only over TLS", relayhost: "[127.0.0.2]:PORT", noDNS: true,
			passwords: "[127.0.0.2]:PORT user:pw\n", rcpts: []string{"b@nowhere.invalid"},
			wantLog: []string{"status=deferred (451 4.7.0 not sending credentials to 127.0.0.2[127.0.0.2]:PORT without TLS)"}},
		{name: "relayhost with SASL over STARTTLS", relayhost: "[127.0.0.2]:TLSPORT", noDNS: true,
			passwords: "# relay\n[127.0.0.2]:TLSPORT user:pw\n", rcpts: []string{"b@nowhere.invalid"},
			wantLog:  []string{"relay=127.0.0.2[127.0.0.2]:TLSPORT,", "status=sent"},
			wantSink: []string{"b@nowhere.invalid"}, wantAuth: []string{"user:pw"}},
		{name: "transport lmtp unix socket", relayhost: "[127.0.0.3]:9", noDNS: true,
			transport: "# local LMTP\nlmtp.test lmtp:unix:SOCK\n",
			rcpts:     []string{"u@lmtp.test", "v@LMTP.test"},
			wantLog:   []string{"to=<u@lmtp.test>, relay=localhost[SOCK],", "status=sent (250 2.0.0"},
			wantLMTP:  []string{"u@lmtp.test", "v@LMTP.test"}},
		{name: "transport error bounces", transport: "gone.test error:5.1.1 this domain is closed\n",
			rcpts:   []string{"x@gone.test"},
			wantLog: []string{"to=<x@gone.test>, relay=none,", "dsn=5.1.1, status=bounced (550 5.1.1 this domain is closed)"},
			wantDSN: "Status: 5.1.1"},
		{name: "transport discard", transport: "trap.test discard:\n", noDNS: true,
			rcpts:   []string{"x@trap.test"},
			wantLog: []string{"to=<x@trap.test>, relay=none,", "status=sent (250 2.0.0 discarded)"}},
		{name: "transport per recipient, rest to MX", transport: "boss@example.net error:5.7.1 boss takes no mail\n.sub.example.net smtp:[127.0.0.2]:PORT\n",
			rcpts:    []string{"boss@example.net", "b@example.net", "c@a.sub.example.net"},
			wantLog:  []string{"to=<boss@example.net>, relay=none", "to=<b@example.net>, relay=mx.example.net[127.0.0.2]:PORT", "to=<c@a.sub.example.net>, relay=127.0.0.2[127.0.0.2]:PORT"},
			wantSink: []string{"b@example.net", "c@a.sub.example.net"}, wantDSN: "Status: 5.7.1"},
		{name: "transport wins over relayhost", relayhost: "[127.0.0.3]:9", transport: "* smtp:[127.0.0.2]:PORT\n", noDNS: true,
			rcpts:    []string{"b@nowhere.invalid"},
			wantLog:  []string{"relay=127.0.0.2[127.0.0.2]:PORT", "status=sent"},
			wantSink: []string{"b@nowhere.invalid"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			dir := t.TempDir()
			// unix socket paths are short: not under t.TempDir().
			sockDir, err := os.MkdirTemp("", "mw")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { os.RemoveAll(sockDir) })
			sock := filepath.Join(sockDir, "lmtp")
			uln, err := net.Listen("unix", sock)
			if err != nil {
				t.Fatal(err)
			}
			lmtp := &sink{}
			serveSink(t, uln, lmtp, true, nil)
			tln, err := net.Listen("tcp", "127.0.0.2:0")
			if err != nil {
				t.Fatal(err)
			}
			srvTLS, _ := testutil.SelfSigned(t, []string{"relay.test"}, net.IPv4(127, 0, 0, 2))
			tlsSink := &authSink{sink: e.sink}
			serveSink(t, tln, tlsSink, false, func(s *smtp.Server) { s.TLSConfig = srvTLS })
			expand := strings.NewReplacer("TLSPORT", strconv.Itoa(tln.Addr().(*net.TCPAddr).Port),
				"PORT", strconv.Itoa(e.port), "SOCK", sock).Replace
			if tc.relayhost != "" {
				e.cfg.Outbound.Relayhost = expand(tc.relayhost)
				e.cfg.Outbound.SMTPPort = 9 // only the relayhost's own port works
			}
			if strings.Contains(tc.relayhost, "TLSPORT") {
				e.cfg.Outbound.TLS = "encrypt"
			}
			for _, f := range []struct {
				src string
				key *string
			}{{tc.transport, &e.cfg.Outbound.TransportFile}, {tc.passwords, &e.cfg.Outbound.RelayhostPasswordFile}} {
				if f.src != "" {
					*f.key = filepath.Join(dir, strconv.Itoa(len(f.src)))
					if err := os.WriteFile(*f.key, []byte(expand(f.src)), 0o600); err != nil {
						t.Fatal(err)
					}
				}
			}
			o := e.options()
			if tc.noDNS {
				o.Resolver = nil
			}
			e.start(t, o)
			enqueue(t, e.q, "a@sender.test", time.Now(), tc.rcpts...)
			waitFor(t, "an outcome for every recipient", func() bool {
				for _, rc := range tc.rcpts {
					if !strings.Contains(e.log.String(), "to=<"+rc+">") {
						return false
					}
				}
				return tc.wantDSN == "" || len(notifications(e.sink)) == 1
			})
			log := e.log.String()
			for _, w := range tc.wantLog {
				if !strings.Contains(log, expand(w)) {
					t.Errorf("log lacks %q:\n%s", expand(w), log)
				}
			}
			checkRcpts(t, "sink", e.sink, tc.wantSink)
			checkRcpts(t, "lmtp", lmtp, tc.wantLMTP)
			tlsSink.mu.Lock()
			if strings.Join(tlsSink.logins, ",") != strings.Join(tc.wantAuth, ",") {
				t.Errorf("logins %v, want %v", tlsSink.logins, tc.wantAuth)
			}
			tlsSink.mu.Unlock()
			if tc.wantDSN != "" {
				dsns := notifications(e.sink)
				if _, status := checkReport(t, dsns[0].Body); dsns[0].Rcpts[0] != "a@sender.test" || !strings.Contains(status, tc.wantDSN) {
					t.Errorf("bounce to %v:\n%s", dsns[0].Rcpts, status)
				}
			}
		})
	}
}

// checkRcpts compares (in any order) the recipients of the non-bounce messages s got.
func checkRcpts(t *testing.T, name string, s *sink, want []string) {
	t.Helper()
	var got []string
	for _, m := range s.messages() {
		if m.From != "" {
			got = append(got, m.Rcpts...)
		}
	}
	slices.Sort(got)
	want = slices.Sorted(slices.Values(want))
	if !slices.Equal(got, want) {
		t.Errorf("%s got %v, want %v", name, got, want)
	}
}

// TestRoutingBrokenTable defers rather than misroutes when the transport
// table cannot be read.
func TestRoutingBrokenTable(t *testing.T) {
	e := newEnv(t)
	e.cfg.Outbound.TransportFile = filepath.Join(t.TempDir(), "missing")
	e.start(t, e.options())
	id := enqueue(t, e.q, "a@sender.test", time.Now(), "b@example.net")
	waitFor(t, "deferral", func() bool { return rcptState(t, e.q, id, "b@example.net").Attempts == 1 })
	if got := rcptState(t, e.q, id, "b@example.net"); got.Status != StatusDeferred || got.LastError != "451 4.3.0 transport table lookup failure" {
		t.Errorf("recipient %+v", got)
	}
	if n := len(e.sink.messages()); n != 0 {
		t.Errorf("sink got %d messages", n)
	}
}
