package smtpserver

import (
	"context"
	"crypto/hmac"
	"crypto/md5"
	"crypto/tls"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net"
	"net/textproto"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/xdg-go/scram"

	"mailwarden/internal/auth/login"
	"mailwarden/internal/auth/password"
	"mailwarden/internal/config"
	"mailwarden/internal/directory"
	"mailwarden/internal/testutil"
)

// subHarness is a submission server with a real login.Authenticator over a
// fake account database holding alice and bob (password testutil.Secret).
type subHarness struct {
	*harness
	accounts *testutil.Dir
	keys     *keyDir
	client   *tls.Config // trusts the server's certificate
	caFile   string
}

// startSubmission also holds carol@example.org with the stored hash
// "{PLAIN}secret"; alice has SCRAM-SHA-256 keys, bob and carol none.
func startSubmission(t testing.TB, mode Mode, mod func(*config.Config)) *subHarness {
	t.Helper()
	serverTLS, clientTLS, caFile := testutil.LocalTLS(t)
	box := func(u string) directory.Mailbox {
		return directory.Mailbox{Username: u, PasswordHash: testutil.SecretHash(t), Active: true}
	}
	carol := directory.Mailbox{Username: "carol@example.org", PasswordHash: "{PLAIN}" + testutil.Secret, Active: true}
	accounts := testutil.NewDir(box("alice@example.org"), box("bob@example.org"), carol)
	keys := newKeyDir(t, accounts)
	k, err := password.NewSCRAMKeys(testutil.Secret, 4096)
	if err != nil {
		t.Fatal(err)
	}
	keys.SetSCRAMKeys(context.Background(), "alice@example.org", testutil.SecretHash(t), k)
	h := start(t, func(c *config.Config) {
		c.Auth.FailureDelay = config.Duration(20 * time.Millisecond)
		if mod != nil {
			mod(c)
		}
	}, func(o *Options) {
		o.Mode, o.TLS = mode, serverTLS
		o.Auth = login.New(keys, o.Config, o.Logger)
	})
	return &subHarness{harness: h, accounts: accounts, keys: keys, client: clientTLS, caFile: caFile}
}

// keyDir adds login.KeyStore to the fake account database: SCRAM keys in
// memory, bound to the hash they were made for, as the directory binds
// them.
type keyDir struct {
	*testutil.Dir
	mu     sync.Mutex
	keys   map[string]keyEntry
	secret []byte
}

type keyEntry struct {
	forHash string
	k       password.SCRAMKeys
}

func newKeyDir(t testing.TB, d *testutil.Dir) *keyDir {
	return &keyDir{Dir: d, keys: map[string]keyEntry{}, secret: []byte(t.Name())}
}

func (d *keyDir) SCRAMKeys(_ context.Context, address string) (password.SCRAMKeys, error) {
	addr, err := directory.Normalize(address)
	if err != nil {
		return password.SCRAMKeys{}, err
	}
	d.mu.Lock()
	e, ok := d.keys[addr]
	d.mu.Unlock()
	if !ok || e.forHash != d.Hash(addr) {
		return password.SCRAMKeys{}, directory.ErrNotFound
	}
	return e.k, nil
}

func (d *keyDir) SetSCRAMKeys(_ context.Context, address, forHash string, k password.SCRAMKeys) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.keys[address] = keyEntry{forHash, k}
	return nil
}

func (d *keyDir) Secret(context.Context, string, int) ([]byte, error) { return d.secret, nil }

// greetTLS dials, says EHLO and, on Submission, STARTTLS and EHLO again.
// It returns the client and the last reply to EHLO.
func (h *subHarness) greetTLS(t testing.TB, mode Mode) (*client, string) {
	t.Helper()
	if mode == Submissions {
		conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", h.addr, h.client)
		if err != nil {
			t.Fatal(err)
		}
		conn.SetDeadline(time.Now().Add(20 * time.Second))
		t.Cleanup(func() { conn.Close() })
		c := &client{t: t, conn: conn, tp: textproto.NewConn(conn)}
		c.expect("", "220 ")
		return c, c.expect("EHLO client.example", "250")
	}
	c := greet(t, h.addr)
	return c, c.starttls(h.client)
}

// starttls upgrades the connection, says EHLO again and returns the reply.
func (c *client) starttls(conf *tls.Config) string {
	c.t.Helper()
	c.expect("STARTTLS", "220 ")
	tc := tls.Client(c.conn, conf)
	if err := tc.Handshake(); err != nil {
		c.t.Fatal(err)
	}
	c.conn, c.tp = tc, textproto.NewConn(tc)
	return c.expect("EHLO client.example", "250")
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// plain is an AUTH PLAIN command with an initial response.
func plain(user, pw string) string { return "AUTH PLAIN " + b64("\x00"+user+"\x00"+pw) }

func TestSubmissionEHLO(t *testing.T) {
	loopbackPlain := func(c *config.Config) { c.Auth.AllowPlaintextLoopback = true }
	for _, tc := range []struct {
		name     string
		mod      func(*config.Config)
		tls      bool
		wantAuth bool
		mail     string // reply to MAIL without AUTH
		auth     string // reply to AUTH PLAIN with a good password
	}{
		{"before STARTTLS", nil, false, false, "530 5.7.0 Must issue a STARTTLS command first", "538 5.7.11 "},
		{"after STARTTLS", nil, true, true, "530 5.7.0 Authentication required", "235 2.7.0 "},
		{"plaintext loopback allowed", loopbackPlain, false, true, "530 5.7.0 Authentication required", "235 2.7.0 "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := startSubmission(t, Submission, tc.mod)
			c := dial(t, h.addr)
			c.expect("", "220 ")
			r := c.expect("EHLO client.example", "250-")
			if !strings.Contains(r, "STARTTLS") {
				t.Errorf("no STARTTLS: %q", r)
			}
			if tc.tls {
				r = c.starttls(h.client)
				if strings.Contains(r, "STARTTLS") {
					t.Errorf("STARTTLS inside TLS: %q", r)
				}
			}
			if got := strings.Contains(r, "AUTH PLAIN LOGIN"); got != tc.wantAuth {
				t.Errorf("AUTH offered: %v, want %v: %q", got, tc.wantAuth, r)
			}
			c.expect("MAIL FROM:<alice@example.org>", tc.mail)
			c.expect(plain("alice@example.org", testutil.Secret), tc.auth)
			c.expect("QUIT", "221")
			h.waitLog(t, "NOQUEUE: reject: MAIL from unknown[127.0.0.1]: "+tc.mail)
		})
	}
}

func TestSubmissionAuth(t *testing.T) {
	type step struct{ send, want string }
	ok := "235 2.7.0 Authentication successful"
	failed := "535 5.7.8 Error: authentication failed: authentication failure"
	for _, tc := range []struct {
		name    string
		dirErr  error
		steps   []step
		user    string // authenticated user, "" when AUTH fails
		logWant string
	}{
		{"plain", nil, []step{{plain("alice@example.org", testutil.Secret), ok}}, "alice@example.org", ""},
		{"plain no initial response", nil, []step{{"AUTH PLAIN", "334 "}, {b64("\x00alice@example.org\x00" + testutil.Secret), ok}}, "alice@example.org", ""},
		{"plain upper case user", nil, []step{{plain("Alice@Example.ORG", testutil.Secret), ok}}, "alice@example.org", ""},
		{"plain authzid self", nil, []step{{"AUTH PLAIN " + b64("alice@example.org\x00alice@example.org\x00"+testutil.Secret), ok}}, "alice@example.org", ""},
		{"login", nil, []step{{"auth login", "334 " + b64("Username:")}, {b64("alice@example.org"), "334 " + b64("Password:")}, {b64(testutil.Secret), ok}}, "alice@example.org", ""},
		{"login initial response", nil, []step{{"AUTH LOGIN " + b64("bob@example.org"), "334 " + b64("Password:")}, {b64(testutil.Secret), ok}}, "bob@example.org", ""},
		{"wrong password", nil, []step{{plain("alice@example.org", "wrong"), failed}}, "",
			"warning: unknown[127.0.0.1]: SASL PLAIN authentication failed: authentication failure, sasl_username=alice@example.org"},
		{"login wrong password", nil, []step{{"AUTH LOGIN", "334 "}, {b64("alice@example.org"), "334 "}, {b64("nope"), failed}}, "",
			"SASL LOGIN authentication failed"},
		{"unknown user", nil, []step{{plain("nobody@example.org", testutil.Secret), failed}}, "", "SASL PLAIN authentication failed"},
		{"authzid other", nil, []step{{"AUTH PLAIN " + b64("bob@example.org\x00alice@example.org\x00"+testutil.Secret), failed}}, "", ""},
		{"malformed", nil, []step{{"AUTH PLAIN " + b64("alice@example.org"), failed}}, "", ""},
		{"directory down", errors.New("database is locked"), []step{{plain("alice@example.org", testutil.Secret), "454 4.7.0 Temporary authentication failure"}}, "",
			"SASL PLAIN authentication failed: temporary failure"},
		{"cancel", nil, []step{{"AUTH LOGIN", "334 "}, {"*", "501 5.7.0 Authentication aborted"}}, "", ""},
		{"unknown mechanism", nil, []step{{"AUTH CRAM-MD5", "504 5.7.4 "}}, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := startSubmission(t, Submission, nil)
			h.accounts.Fail(tc.dirErr)
			c, _ := h.greetTLS(t, Submission)
			for _, s := range tc.steps {
				c.expect(s.send, s.want)
			}
			if tc.logWant != "" {
				h.waitLog(t, tc.logWant)
			}
			if tc.user == "" {
				c.expect("MAIL FROM:<alice@example.org>", "530 5.7.0 Authentication required")
				return
			}
			c.expect("AUTH PLAIN", "503 5.5.1 ") // once per session (RFC 4954 4)
			if got := c.send(tc.user, []string{"alice@example.org"}, simpleBody); !strings.HasPrefix(got, "250 2.0.0 Ok: queued as ") {
				t.Fatalf("DATA: %q", got)
			}
			c.expect("QUIT", "221")
			m := h.del.delivered()[0]
			if m.env.AuthUser != tc.user || m.env.Protocol != "ESMTPSA" || !strings.Contains(m.trace, " with ESMTPSA id ") {
				t.Errorf("envelope %+v, trace %q", m.env, m.trace)
			}
			if strings.Contains(m.trace, tc.user) && !strings.Contains(m.trace, "for <"+tc.user+">") {
				t.Errorf("trace names the user: %q", m.trace)
			}
			mech := strings.Fields(tc.steps[0].send)[1]
			h.waitLog(t, m.env.ID+": client=unknown[127.0.0.1], sasl_method="+strings.ToUpper(mech)+", sasl_username="+tc.user)
			h.waitLog(t, "disconnect from unknown[127.0.0.1] ehlo=2 starttls=1 auth=1/2 mail=1 rcpt=1 data=1 quit=1 commands=8/9") // the refused second AUTH counts
		})
	}
}

func TestSubmissionsImplicitTLS(t *testing.T) {
	h := startSubmission(t, Submissions, nil)
	c, r := h.greetTLS(t, Submissions)
	if !strings.Contains(r, "AUTH PLAIN LOGIN") || strings.Contains(r, "STARTTLS") {
		t.Errorf("EHLO %q", r)
	}
	c.expect(plain("alice@example.org", testutil.Secret), "235 ")
	if got := c.send("alice@example.org", []string{"bob@example.org"}, simpleBody); !strings.HasPrefix(got, "250 ") {
		t.Fatalf("DATA: %q", got)
	}
	c.expect("QUIT", "221")
	m := h.del.delivered()[0]
	if m.env.Protocol != "ESMTPSA" || !strings.HasPrefix(m.env.TLS, "TLSv1.3 with cipher ") || m.env.AuthUser != "alice@example.org" {
		t.Errorf("envelope %+v", m.env)
	}
	h.waitLog(t, "Anonymous TLS connection established from unknown[127.0.0.1]: TLSv1.3")
	h.waitLog(t, "disconnect from unknown[127.0.0.1] ehlo=1 auth=1 mail=1 rcpt=1 data=1 quit=1 commands=6")

	// A plaintext client gets nothing it could take for SMTP.
	p := dial(t, h.addr)
	p.write("EHLO client.example\r\n")
	if got := p.rest(); strings.Contains(got, "220") || strings.Contains(got, "250") {
		t.Errorf("plaintext reply %q", got)
	}
}

func TestSubmissionOptions(t *testing.T) {
	for _, tc := range []struct {
		name string
		o    Options
		want string
	}{
		{"submission without auth", Options{Mode: Submission}, "needs Options.Auth"},
		{"submissions without tls", Options{Mode: Submissions, Auth: &login.Authenticator{}}, "needs Options.TLS"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			tc.o.Config = testConfig
			if err := New(tc.o).Serve(l); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Serve: %v, want %q", err, tc.want)
			}
		})
	}
}

// TestSubmissionMechanisms: EHLO lists auth.mechanisms in their order,
// and only when AUTH may be used.
func TestSubmissionMechanisms(t *testing.T) {
	withMechs := func(m ...string) func(*config.Config) {
		return func(c *config.Config) { c.Auth.Mechanisms = m }
	}
	for _, tc := range []struct {
		name string
		mod  func(*config.Config)
		tls  bool
		want string // the AUTH line, "" for none
	}{
		{"default before STARTTLS", nil, false, ""},
		{"default after STARTTLS", nil, true, "250-AUTH PLAIN LOGIN SCRAM-SHA-256"},
		{"configured order", withMechs("CRAM-MD5", "SCRAM-SHA-256", "PLAIN"), true, "250-AUTH CRAM-MD5 SCRAM-SHA-256 PLAIN"},
		{"CRAM-MD5 not before STARTTLS", withMechs("CRAM-MD5", "SCRAM-SHA-256"), false, ""},
		{"plaintext loopback allowed", func(c *config.Config) { c.Auth.AllowPlaintextLoopback = true }, false, "250-AUTH PLAIN LOGIN SCRAM-SHA-256"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := startSubmission(t, Submission, tc.mod)
			c := greet(t, h.addr)
			r := c.expect("EHLO client.example", "250")
			if tc.tls {
				r = c.starttls(h.client)
			}
			var got string
			for _, l := range strings.Split(r, "\n") {
				if strings.HasPrefix(strings.TrimSpace(l), "250-AUTH ") {
					got = strings.TrimSpace(l)
				}
			}
			if got != tc.want {
				t.Fatalf("AUTH line %q, want %q in:\n%s", got, tc.want, r)
			}
			if tc.want == "" {
				c.expect("AUTH SCRAM-SHA-256 "+b64("n,,n=alice@example.org,r=abc"), "538 5.7.11 ")
				c.expect("AUTH CRAM-MD5", "538 5.7.11 ")
			}
		})
	}
	// A mechanism not configured is refused even where AUTH is allowed.
	h := startSubmission(t, Submission, withMechs("SCRAM-SHA-256"))
	c, _ := h.greetTLS(t, Submission)
	c.expect(plain("alice@example.org", testutil.Secret), "504 5.7.4 ")
	c.expect("AUTH LOGIN", "504 5.7.4 ")
}

// scramSMTP runs AUTH SCRAM-SHA-256 with the xdg-go/scram client and
// returns the final reply.
func scramSMTP(t *testing.T, c *client, user, pw string) string {
	t.Helper()
	sc, err := scram.SHA256.NewClient(user, pw, "")
	if err != nil {
		t.Fatal(err)
	}
	conv := sc.NewConversation()
	first, _ := conv.Step("")
	r := c.expect("AUTH SCRAM-SHA-256 "+b64(first), "")
	for strings.HasPrefix(r, "334 ") {
		ch, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(r, "334 "))
		if err != nil {
			t.Fatalf("challenge %q: %v", r, err)
		}
		resp, err := conv.Step(string(ch))
		if err != nil {
			t.Fatalf("client: %v", err)
		}
		c.write(b64(resp) + "\r\n")
		r = c.expect("", "")
	}
	if strings.HasPrefix(r, "235 ") && !conv.Valid() {
		t.Fatalf("server signature not verified")
	}
	return r
}

func TestSubmissionSCRAM(t *testing.T) {
	h := startSubmission(t, Submissions, nil)
	for _, tc := range []struct {
		name, user, pw, want, log string
	}{
		{"ok", "alice@example.org", testutil.Secret, "235 2.7.0 Authentication successful", "auth: login: user=<alice@example.org>, rip=127.0.0.1, method=SCRAM-SHA-256, service=submission"},
		{"wrong password", "alice@example.org", "wrong", "535 5.7.8 Error: authentication failed: authentication failure",
			"warning: unknown[127.0.0.1]: SASL SCRAM-SHA-256 authentication failed: authentication failure, sasl_username=alice@example.org"},
		{"unknown user", "nobody@example.org", testutil.Secret, "535 5.7.8 ", "reason=unknown user"},
		{"no keys yet", "bob@example.org", testutil.Secret, "535 5.7.8 ", "reason=no SCRAM-SHA-256 keys"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, _ := h.greetTLS(t, Submissions)
			if r := scramSMTP(t, c, tc.user, tc.pw); !strings.HasPrefix(r, tc.want) {
				t.Fatalf("got %q, want %q", r, tc.want)
			}
			h.waitLog(t, tc.log)
			if strings.HasPrefix(tc.want, "235") {
				if got := c.send(tc.user, []string{"bob@example.org"}, simpleBody); !strings.HasPrefix(got, "250 ") {
					t.Fatalf("DATA: %q", got)
				}
				h.waitLog(t, "sasl_method=SCRAM-SHA-256, sasl_username=alice@example.org")
			}
		})
	}
	// After a PLAIN login bob has keys, and SCRAM works for him.
	c, _ := h.greetTLS(t, Submissions)
	c.expect(plain("bob@example.org", testutil.Secret), "235 ")
	c, _ = h.greetTLS(t, Submissions)
	if r := scramSMTP(t, c, "bob@example.org", testutil.Secret); !strings.HasPrefix(r, "235 ") {
		t.Fatalf("bob after a PLAIN login: %q", r)
	}
	// A client requiring channel binding is told it is not supported.
	c, _ = h.greetTLS(t, Submissions)
	c.expect("AUTH SCRAM-SHA-256 "+b64("p=tls-exporter,,n=alice@example.org,r=abc"), "535 5.7.8 Error: authentication failed: channel-binding-not-supported")
	// The client may cancel at any step.
	c.expect("AUTH SCRAM-SHA-256", "334 ")
	c.expect(b64("n,,n=alice@example.org,r=abc"), "334 ")
	c.expect("*", "501 5.7.0 Authentication aborted")
}

func TestSubmissionCRAMMD5(t *testing.T) {
	h := startSubmission(t, Submission, func(c *config.Config) { c.Auth.Mechanisms = []string{"CRAM-MD5", "PLAIN"} })
	answer := func(user, pw string) string {
		c, _ := h.greetTLS(t, Submission)
		r := c.expect("AUTH CRAM-MD5", "334 ")
		ch, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(r, "334 "))
		if err != nil || !strings.HasPrefix(string(ch), "<") || !strings.HasSuffix(string(ch), "@"+testConfig().Hostname+">") {
			t.Fatalf("challenge %q (%v)", ch, err)
		}
		m := hmac.New(md5.New, []byte(pw))
		m.Write(ch)
		return c.expect(b64(user+" "+hex.EncodeToString(m.Sum(nil))), "")
	}
	if r := answer("carol@example.org", testutil.Secret); !strings.HasPrefix(r, "235 2.7.0 ") {
		t.Fatalf("carol: %q", r)
	}
	if r := answer("carol@example.org", "wrong"); !strings.HasPrefix(r, "535 5.7.8 ") {
		t.Fatalf("carol, wrong password: %q", r)
	}
	if r := answer("alice@example.org", testutil.Secret); !strings.HasPrefix(r, "535 5.7.8 ") {
		t.Fatalf("alice (argon2id): %q", r)
	}
	h.waitLog(t, "reason=stored password scheme ARGON2ID cannot do CRAM-MD5")
	h.waitLog(t, "SASL CRAM-MD5 authentication failed: authentication failure, sasl_username=alice@example.org")
}
