package pop3server

import (
	"crypto/tls"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"mailwarden/internal/config"
)

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func TestCapabilities(t *testing.T) {
	for _, tc := range []struct {
		name     string
		loopback bool // auth.allow_plaintext_loopback
		noTLS    bool
		stls     bool // issue STLS first
		loggedIn bool
		want     []string
		not      []string
	}{
		{name: "before STLS", want: []string{"STLS", "TOP", "UIDL", "RESP-CODES", "PIPELINING", "AUTH-RESP-CODE"}, not: []string{"USER", "SASL PLAIN LOGIN SCRAM-SHA-256", "IMPLEMENTATION"}},
		{name: "after STLS", stls: true, want: []string{"USER", "SASL PLAIN LOGIN SCRAM-SHA-256", "TOP", "UIDL"}, not: []string{"STLS"}},
		{name: "loopback plaintext allowed", loopback: true, want: []string{"USER", "SASL PLAIN LOGIN SCRAM-SHA-256", "STLS"}},
		{name: "no TLS configured", noTLS: true, not: []string{"STLS", "USER"}},
		{name: "logged in", stls: true, loggedIn: true, want: []string{"TOP", "UIDL", "PIPELINING"}, not: []string{"USER", "SASL PLAIN LOGIN SCRAM-SHA-256", "STLS"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := start(t, func(c *config.Config) { c.Auth.AllowPlaintextLoopback = tc.loopback }, func(o *Options) {
				if tc.noTLS {
					o.TLS = nil
				}
			})
			c := h.dial(t, nil)
			if tc.stls {
				c.stls(h.clientTLS)
			}
			if tc.loggedIn {
				c.expect("USER alice@example.org", "+OK")
				c.expect("PASS secret", "+OK")
			}
			c.expect("CAPA", "+OK")
			caps := strings.Split(c.multi(), "\n")
			for _, w := range tc.want {
				if !contains(caps, w) {
					t.Errorf("CAPA lacks %q: %q", w, caps)
				}
			}
			for _, n := range tc.not {
				if contains(caps, n) {
					t.Errorf("CAPA has %q: %q", n, caps)
				}
			}
		})
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func TestPlaintextRefused(t *testing.T) {
	h := start(t, nil)
	c := h.dial(t, nil)
	for _, cmd := range []string{"USER alice@example.org", "PASS secret", "AUTH PLAIN " + b64("\x00alice@example.org\x00secret"), "AUTH PLAIN"} {
		if got := c.cmd(cmd); got != plaintextRefused {
			t.Errorf("%s: %q", cmd, got)
		}
	}
	c.expect("AUTH", "+OK")
	if mechs := c.multi(); mechs != "" {
		t.Errorf("AUTH lists %q without TLS", mechs)
	}
	c.expect("STAT", "-ERR")
	c.expect("QUIT", "+OK")
	h.waitLog(t, "pop3-login: Disconnected: Logged out (tried to use disallowed plaintext auth): rip=127.0.0.1, lip=127.0.0.1")
}

func TestLoginMethods(t *testing.T) {
	for _, tc := range []struct {
		name   string
		script []string // commands; the last reply is checked
		want   string
	}{
		{"USER/PASS", []string{"USER alice@example.org", "PASS secret"}, "+OK Logged in."},
		{"USER/PASS case-insensitive", []string{"user ALICE@example.org", "pass secret"}, "+OK Logged in."},
		{"PASS with spaces is one password", []string{"USER alice@example.org", "PASS secret x"}, "-ERR [AUTH] Authentication failed."},
		{"PASS without USER", []string{"PASS secret"}, "-ERR No username given."},
		{"USER without name", []string{"USER"}, "-ERR USER needs a user name."},
		{"wrong password", []string{"USER alice@example.org", "PASS wrong"}, "-ERR [AUTH] Authentication failed."},
		{"unknown user", []string{"USER nobody@example.org", "PASS secret"}, "-ERR [AUTH] Authentication failed."},
		{"AUTH PLAIN initial response", []string{"AUTH PLAIN " + b64("\x00alice@example.org\x00secret")}, "+OK Logged in."},
		{"AUTH plain lower case", []string{"auth plain " + b64("alice@example.org\x00alice@example.org\x00secret")}, "+OK Logged in."},
		{"AUTH PLAIN continuation", []string{"AUTH PLAIN", b64("\x00alice@example.org\x00secret")}, "+OK Logged in."},
		{"AUTH PLAIN empty initial response", []string{"AUTH PLAIN ="}, "-ERR [AUTH] Authentication failed."},
		{"AUTH PLAIN cancelled", []string{"AUTH PLAIN", "*"}, "-ERR Authentication aborted."},
		{"AUTH PLAIN bad base64", []string{"AUTH PLAIN !!!"}, "-ERR Invalid base64 data."},
		{"AUTH PLAIN proxy authzid", []string{"AUTH PLAIN " + b64("bob@example.org\x00alice@example.org\x00secret")}, "-ERR [AUTH] Authentication failed."},
		{"AUTH PLAIN wrong password", []string{"AUTH PLAIN " + b64("\x00alice@example.org\x00nope")}, "-ERR [AUTH] Authentication failed."},
		{"AUTH other mechanism", []string{"AUTH CRAM-MD5"}, "-ERR Unsupported authentication mechanism."},
		{"STLS twice", []string{"STLS"}, "-ERR TLS is already active."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := start(t, nil)
			c := h.dial(t, nil)
			c.stls(h.clientTLS)
			var got string
			for _, line := range tc.script {
				got = c.cmd(line)
			}
			if got != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
			if tc.want == "+OK Logged in." {
				h.waitLog(t, "pop3-login: Login: user=<")
				h.waitLog(t, ">, method=PLAIN, rip=127.0.0.1, lip=127.0.0.1"+mpid+", TLS")
				c.expect("STAT", "+OK 0 0")
			}
		})
	}
}

func TestAuthContinuationPrompt(t *testing.T) {
	h := start(t, nil)
	c := h.dial(t, nil)
	c.stls(h.clientTLS)
	if got := c.cmd("AUTH PLAIN"); got != "+ " {
		t.Fatalf("continuation %q, want \"+ \"", got)
	}
	c.expect(b64("\x00bob@example.org\x00secret"), "+OK Logged in.")
}

func TestFailedLoginsClose(t *testing.T) {
	h := start(t, nil)
	c := h.dial(t, nil)
	c.stls(h.clientTLS)
	for range maxAuthFails {
		c.expect("USER alice@example.org", "+OK")
		c.expect("PASS wrong", "-ERR [AUTH] Authentication failed.")
	}
	c.closed()
	h.waitLog(t, "pop3-login: Disconnected: Too many invalid authentication attempts (auth failed, 3 attempts in ")
	h.waitLog(t, "): user=<alice@example.org>, method=PLAIN, rip=127.0.0.1, lip=127.0.0.1, TLS")
}

func TestLockout(t *testing.T) {
	h := start(t, func(c *config.Config) { c.Auth.MaxFailures = 2 })
	c := h.dial(t, nil)
	c.stls(h.clientTLS)
	c.expect("AUTH PLAIN "+b64("\x00alice@example.org\x00x"), "-ERR [AUTH] ")
	c.expect("AUTH PLAIN "+b64("\x00bob@example.org\x00y"), "-ERR [AUTH] ")
	// The IP is now locked out: even the right password fails, temporarily.
	c2 := h.dial(t, nil)
	c2.stls(h.clientTLS)
	c2.expect("USER alice@example.org", "+OK")
	c2.expect("PASS secret", "-ERR [SYS/TEMP] ")
}

func TestInUse(t *testing.T) {
	h := start(t, nil)
	h.store.add("alice@example.org", "Subject: a\r\n\r\nx\r\n")
	a := h.login(t, "alice@example.org")
	b := h.dial(t, nil)
	b.stls(h.clientTLS)
	b.expect("USER alice@example.org", "+OK")
	b.expect("PASS secret", "-ERR [IN-USE] ")
	b.expect("STAT", "-ERR") // still in AUTHORIZATION
	// Another mailbox is not affected, and implicit-TLS servers share the lock.
	h.login(t, "bob@example.org")
	h2 := start(t, nil, func(o *Options) { o.Implicit = true })
	c := h2.dial(t, h2.clientTLS)
	c.expect("USER alice@example.org", "+OK")
	c.expect("PASS secret", "-ERR [IN-USE] ")
	a.expect("QUIT", "+OK")
	a.closed()
	b.expect("USER alice@example.org", "+OK")
	b.expect("PASS secret", "+OK Logged in.")
	b.expect("STAT", "+OK 1 ")
}

func TestImplicitTLS(t *testing.T) {
	h := start(t, nil, func(o *Options) { o.Implicit = true })
	h.store.add("alice@example.org", "Subject: a\r\n\r\nhello\r\n")
	c := h.dial(t, h.clientTLS)
	if _, ok := c.conn.(*tls.Conn); !ok {
		t.Fatal("not TLS")
	}
	c.expect("CAPA", "+OK")
	if caps := c.multi(); strings.Contains(caps, "STLS") || !strings.Contains(caps, "USER") {
		t.Fatalf("CAPA on pop3s: %q", caps)
	}
	c.expect("STLS", "-ERR")
	c.expect("USER alice@example.org", "+OK")
	c.expect("PASS secret", "+OK Logged in.")
	c.expect("RETR 1", "+OK 21 octets")
	if got := c.multi(); got != "Subject: a\n\nhello\n" {
		t.Fatalf("RETR %q", got)
	}
	c.expect("QUIT", "+OK")
	h.waitLog(t, "pop3(alice@example.org): Disconnected: Logged out top=0/0, retr=1/21, del=0/1, size=21")
}

func TestSTLSInjection(t *testing.T) {
	h := start(t, nil)
	c := h.dial(t, nil)
	c.send("STLS\r\nUSER alice@example.org\r\n")
	if got := c.line(); got != "-ERR Unexpected data after STLS." {
		t.Fatalf("got %q", got)
	}
	c.closed()
}

func TestInboxError(t *testing.T) {
	h := start(t, nil)
	h.store.inboxErr = errors.New("disk gone")
	c := h.dial(t, nil)
	c.stls(h.clientTLS)
	c.expect("USER alice@example.org", "+OK")
	c.expect("PASS secret", "-ERR [SYS/TEMP] ")
	h.waitLog(t, "pop3(alice@example.org): Couldn't open INBOX: disk gone")
	// The lock was given back.
	h.store.mu.Lock()
	h.store.inboxErr = nil
	h.store.mu.Unlock()
	c.expect("USER alice@example.org", "+OK")
	c.expect("PASS secret", "+OK Logged in.")
}

// TestSASLMechanisms: AUTH and CAPA follow auth.mechanisms, and every
// mechanism runs through AUTH's continuation lines.
func TestSASLMechanisms(t *testing.T) {
	h := start(t, func(c *config.Config) { c.Auth.Mechanisms = []string{"CRAM-MD5", "LOGIN", "SCRAM-SHA-256"} })
	c := h.dial(t, nil)
	c.expect("AUTH SCRAM-SHA-256", plaintextRefused)
	c.stls(h.clientTLS)
	c.expect("AUTH", "+OK")
	if got := strings.TrimSpace(c.multi()); got != "CRAM-MD5\nLOGIN\nSCRAM-SHA-256" {
		t.Errorf("AUTH lists %q", got)
	}
	c.expect("CAPA", "+OK")
	if caps := strings.Split(c.multi(), "\n"); !contains(caps, "SASL CRAM-MD5 LOGIN SCRAM-SHA-256") {
		t.Errorf("CAPA %q", caps)
	}
	c.expect("AUTH PLAIN "+b64("\x00alice@example.org\x00secret"), "-ERR Unsupported authentication mechanism.")

	// The fake directory keeps no SCRAM keys: the exchange runs to its
	// end and fails like a wrong password.
	c.expect("AUTH SCRAM-SHA-256 "+b64("n,,n=alice@example.org,r=abc"), "+ ")
	c.expect(b64("c=biws,r=abc,p=AAAA"), "-ERR [AUTH] Authentication failed.")
	h.waitLog(t, "method=SCRAM-SHA-256, service=pop3, reason=")
	// CRAM-MD5 cannot use alice's argon2id hash.
	r := c.cmd("AUTH CRAM-MD5")
	ch, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(r, "+ "))
	if err != nil || !strings.HasPrefix(string(ch), "<") {
		t.Fatalf("challenge %q", r)
	}
	c.expect(b64("alice@example.org 0123456789abcdef0123456789abcdef"), "-ERR [AUTH] Authentication failed.")
	h.waitLog(t, "reason=stored password scheme ARGON2ID cannot do CRAM-MD5")
	// LOGIN, on a new session.
	c = h.dial(t, nil)
	c.stls(h.clientTLS)
	c.expect("AUTH LOGIN", "+ "+b64("Username:"))
	c.expect(b64("alice@example.org"), "+ "+b64("Password:"))
	c.expect(b64("secret"), "+OK Logged in.")
	h.waitLog(t, "pop3-login: Login: user=<alice@example.org>, method=LOGIN")
}
