package imapserver

import (
	"bufio"
	"context"
	"crypto/hmac"
	"crypto/md5"
	"crypto/tls"
	"encoding/base64"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/xdg-go/scram"

	"mailwarden/internal/config"
	"mailwarden/internal/directory"
)

const postAuthCaps = "IMAP4rev1 IMAP4rev2 SASL-IR LITERAL+ ID ENABLE IDLE NAMESPACE UNSELECT CHILDREN MOVE UIDPLUS " +
	"SPECIAL-USE CREATE-SPECIAL-USE BINARY CONDSTORE QRESYNC ESEARCH SEARCHRES LIST-EXTENDED LIST-STATUS STATUS=SIZE " +
	"QUOTA QUOTA=RES-STORAGE QUOTA=RES-MESSAGE SORT SORT=DISPLAY THREAD=ORDEREDSUBJECT THREAD=REFERENCES ESORT PARTIAL PREVIEW MULTIAPPEND CATENATE URLAUTH UIDONLY SAVEDATE OBJECTID ACL RIGHTS=texk " +
	"APPENDLIMIT=26214400 CONTEXT=SEARCH CONTEXT=SORT NOTIFY METADATA METADATA-SERVER COMPRESS=DEFLATE"

func TestCapabilities(t *testing.T) {
	tests := []struct {
		name     string
		loopback bool // auth.allow_plaintext_loopback
		want     string
	}{
		{"plaintext allowed", true, "IMAP4rev1 IMAP4rev2 SASL-IR LITERAL+ ID ENABLE IDLE STARTTLS AUTH=PLAIN AUTH=LOGIN AUTH=SCRAM-SHA-256 NAMESPACE"},
		{"plaintext refused", false, "IMAP4rev1 IMAP4rev2 SASL-IR LITERAL+ ID ENABLE IDLE STARTTLS LOGINDISABLED NAMESPACE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := start(t, func(c *config.Config) { c.Auth.AllowPlaintextLoopback = tt.loopback })
			c := h.dial(t)
			u, tagged := c.cmd("CAPABILITY")
			if len(u) != 1 || !strings.HasPrefix(u[0], "* CAPABILITY "+tt.want+" ") || tagged != "OK Capability completed." {
				t.Fatalf("got %q %q", u, tagged)
			}
			if !tt.loopback {
				c.expect("LOGIN alice@example.org secret",
					"NO [PRIVACYREQUIRED] Plaintext authentication disallowed on non-secure (SSL/TLS) connections.")
				c.expect("AUTHENTICATE PLAIN "+plain("alice@example.org", "secret"),
					"NO [PRIVACYREQUIRED] Plaintext authentication disallowed on non-secure (SSL/TLS) connections.")
				c.expect("AUTHENTICATE SCRAM-SHA-256",
					"NO [PRIVACYREQUIRED] Plaintext authentication disallowed on non-secure (SSL/TLS) connections.")
			}
		})
	}
}

func plain(user, pass string) string {
	return base64.StdEncoding.EncodeToString([]byte("\x00" + user + "\x00" + pass))
}

func TestLoginCapabilityAndLog(t *testing.T) {
	h := start(t, nil)
	c := h.dial(t)
	c.expect("LOGIN alice@example.org secret", "OK [CAPABILITY "+postAuthCaps+"] Logged in")
	h.waitLog(t, "imap-login: Login: user=<alice@example.org>, method=PLAIN, rip=127.0.0.1, lip=127.0.0.1"+mpid+", secured")
	c.expect("LOGIN alice@example.org secret", "BAD Command not allowed in this state.")
	c.expect("LOGOUT", "* BYE Logging out", "OK Logout completed.")
	h.waitLog(t, "imap(alice@example.org): Logged out in=")
}

func TestStartTLS(t *testing.T) {
	h := start(t, func(c *config.Config) { c.Auth.AllowPlaintextLoopback = false })
	c := h.dial(t)
	c.expect("STARTTLS", "OK Begin TLS negotiation now.")
	tc := tls.Client(c.conn, h.clientTLS)
	if err := tc.Handshake(); err != nil {
		t.Fatal(err)
	}
	c.conn, c.br = tc, bufio.NewReader(tc)
	u, _ := c.cmd("CAPABILITY")
	if strings.Contains(u[0], "STARTTLS") || strings.Contains(u[0], "LOGINDISABLED") || !strings.Contains(u[0], "AUTH=PLAIN") {
		t.Fatalf("capabilities after STARTTLS: %q", u[0])
	}
	c.expect("STARTTLS", "BAD TLS is already active.")
	c.ok("LOGIN alice@example.org secret")
	h.waitLog(t, "method=PLAIN, rip=127.0.0.1, lip=127.0.0.1"+mpid+", TLS")
}

func TestImplicitTLS(t *testing.T) {
	h := start(t, nil, func(o *Options) { o.Implicit = true })
	conn, err := tls.Dial("tcp", h.addr, h.clientTLS)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	c := &client{t: t, conn: conn, br: bufio.NewReader(conn)}
	if g := c.line(); !strings.HasPrefix(g, "* OK [CAPABILITY IMAP4rev1") || strings.Contains(g, "STARTTLS") {
		t.Fatalf("greeting %q", g)
	}
	c.ok("LOGIN alice@example.org secret")
}

func TestAuthenticate(t *testing.T) {
	h := start(t, nil)
	tests := []struct {
		name  string
		steps []string // client lines; "" or "+ text" marks reading a continuation
		want  string
	}{
		{"sasl-ir", []string{"a AUTHENTICATE PLAIN " + plain("alice@example.org", "secret")}, "a OK [CAPABILITY"},
		{"continuation", []string{"a AUTHENTICATE PLAIN", "", plain("alice@example.org", "secret")}, "a OK [CAPABILITY"},
		{"cancel", []string{"a AUTHENTICATE PLAIN", "", "*"}, "a BAD Authentication aborted by client."},
		{"wrong password", []string{"a AUTHENTICATE PLAIN " + plain("alice@example.org", "nope")}, "a NO [AUTHENTICATIONFAILED] Authentication failed."},
		{"bad base64", []string{"a AUTHENTICATE PLAIN", "", "!!!"}, "a BAD Invalid base64 data in continued response."},
		{"other mechanism", []string{"a AUTHENTICATE CRAM-MD5"}, "a NO [CANNOT] Unsupported authentication mechanism."},
		{"login", []string{"a AUTHENTICATE LOGIN", "+ VXNlcm5hbWU6", b64("alice@example.org"), "+ UGFzc3dvcmQ6", b64("secret")}, "a OK [CAPABILITY"},
		{"plain empty initial response", []string{"a AUTHENTICATE PLAIN ="}, "a NO [AUTHENTICATIONFAILED]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := h.dial(t)
			for _, s := range tt.steps {
				if s == "" || strings.HasPrefix(s, "+ ") {
					if l := c.line(); l != "+ " && l != s {
						t.Fatalf("continuation: %q", l)
					}
					continue
				}
				c.send(s)
			}
			if l := c.line(); !strings.HasPrefix(l, tt.want) {
				t.Fatalf("got %q, want %q", l, tt.want)
			}
		})
	}
}

func TestThreeFailuresClose(t *testing.T) {
	h := start(t, nil)
	c := h.dial(t)
	for i := 0; i < 2; i++ {
		c.expect("LOGIN alice@example.org wrong", "NO [AUTHENTICATIONFAILED] Authentication failed.")
	}
	c.expect("LOGIN alice@example.org wrong", "NO [AUTHENTICATIONFAILED] Authentication failed.")
	if l := c.line(); l != "* BYE Too many invalid authentication attempts." {
		t.Fatalf("got %q", l)
	}
	h.waitLog(t, "imap-login: Disconnected: Too many invalid authentication attempts (auth failed, 3 attempts")
}

func TestNotAuthenticated(t *testing.T) {
	h := start(t, nil)
	c := h.dial(t)
	c.expect("SELECT INBOX", "BAD Command not allowed before authentication.")
	c.expect("NOOP", "OK Noop completed.")
	c.expect(`ID ("name" "test")`, `* ID ("name" "Mailwarden")`, "OK ID completed.")
	c.expect("FOO", "BAD unknown command FOO")
}

func TestEnableNamespaceID(t *testing.T) {
	h := start(t, nil)
	c := h.login(t, "alice@example.org")
	c.expect("ENABLE QRESYNC X-UNKNOWN", "* ENABLED QRESYNC", "OK Enabled.")
	c.expect("ENABLE CONDSTORE", "* ENABLED", "OK Enabled.")
	c.expect("ENABLE UTF8=ACCEPT IMAP4rev2", "* ENABLED UTF8=ACCEPT IMAP4rev2", "OK Enabled.")
	c.expect("NAMESPACE", `* NAMESPACE (("" ".")) (("Other Users/" "/")) (("Shared/" "/"))`, "OK Namespace completed.")
	c.expect("ID NIL", `* ID ("name" "Mailwarden")`, "OK ID completed.")
	c.expect("CHECK", "BAD No mailbox selected.")
}

func TestTooManyBadCommands(t *testing.T) {
	h := start(t, nil)
	c := h.dial(t)
	for i := 0; i < maxBadCommands; i++ {
		c.send("x" + strings.Repeat("1", i) + " BOGUS")
		c.line()
	}
	if l := c.line(); l != "* BYE Too many invalid IMAP commands." {
		t.Fatalf("got %q", l)
	}
}

// TestAuthCapabilities: AUTH= follows auth.mechanisms in its order.
func TestAuthCapabilities(t *testing.T) {
	h := start(t, func(c *config.Config) { c.Auth.Mechanisms = []string{"CRAM-MD5", "SCRAM-SHA-256", "PLAIN"} })
	c := h.dial(t)
	u, _ := c.cmd("CAPABILITY")
	if !strings.Contains(u[0], " STARTTLS AUTH=CRAM-MD5 AUTH=SCRAM-SHA-256 AUTH=PLAIN NAMESPACE ") {
		t.Fatalf("capabilities %q", u[0])
	}
	c.expect("AUTHENTICATE LOGIN", "NO [CANNOT] Unsupported authentication mechanism.")
}

// scramIMAP runs AUTHENTICATE SCRAM-SHA-256 with the xdg-go/scram client,
// with the first message as SASL-IR or after an empty continuation, and
// returns the tagged reply.
func scramIMAP(t *testing.T, c *client, user, pw string, ir bool) string {
	t.Helper()
	sc, err := scram.SHA256.NewClient(user, pw, "")
	if err != nil {
		t.Fatal(err)
	}
	conv := sc.NewConversation()
	first, _ := conv.Step("")
	if ir {
		c.send("a AUTHENTICATE SCRAM-SHA-256 " + b64(first))
	} else {
		c.send("a AUTHENTICATE SCRAM-SHA-256")
		if l := c.line(); l != "+ " {
			t.Fatalf("continuation %q", l)
		}
		c.send(b64(first))
	}
	for {
		l := c.line()
		if !strings.HasPrefix(l, "+ ") {
			return l
		}
		ch, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(l, "+ "))
		if err != nil {
			t.Fatalf("%q: %v", l, err)
		}
		resp, err := conv.Step(string(ch))
		if err != nil {
			t.Fatalf("client: %v", err)
		}
		c.send(b64(resp))
	}
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func TestAuthenticateSCRAM(t *testing.T) {
	h := start(t, nil)
	for _, tc := range []struct {
		name, user, pw string
		ir             bool
		want           string
	}{
		{"sasl-ir", "alice@example.org", "secret", true, "a OK [CAPABILITY IMAP4rev1"},
		{"continuation", "bob@example.org", "secret", false, "a OK [CAPABILITY IMAP4rev1"},
		{"wrong password", "alice@example.org", "wrong", true, "a NO [AUTHENTICATIONFAILED] Authentication failed."},
		{"unknown user", "carol@example.org", "secret", true, "a NO [AUTHENTICATIONFAILED] Authentication failed."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := h.dial(t)
			if got := scramIMAP(t, c, tc.user, tc.pw, tc.ir); !strings.HasPrefix(got, tc.want) {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
			if strings.Contains(tc.want, " OK ") {
				c.ok("SELECT INBOX")
				h.waitLog(t, "imap-login: Login: user=<"+tc.user+">, method=SCRAM-SHA-256, rip=127.0.0.1, lip=127.0.0.1"+mpid+", secured")
			}
		})
	}
	c := h.dial(t)
	c.expect("AUTHENTICATE SCRAM-SHA-256 "+b64("p=tls-exporter,,n=alice@example.org,r=x"), "NO [AUTHENTICATIONFAILED] Authentication failed.")
}

func TestAuthenticateCRAMMD5(t *testing.T) {
	h := start(t, func(c *config.Config) { c.Auth.Mechanisms = []string{"PLAIN", "CRAM-MD5"} })
	ctx := context.Background()
	if _, err := h.dir.AddMailbox(ctx, directory.Mailbox{Username: "carol@example.org", PasswordHash: "{PLAIN}secret", Active: true}); err != nil {
		t.Fatal(err)
	}
	answer := func(user, pw string) string {
		c := h.dial(t)
		c.send("a AUTHENTICATE CRAM-MD5")
		l := c.line()
		ch, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(l, "+ "))
		if err != nil || !strings.HasSuffix(string(ch), "@"+testConfig().Hostname+">") {
			t.Fatalf("challenge %q", l)
		}
		m := hmac.New(md5.New, []byte(pw))
		m.Write(ch)
		c.send(b64(user + " " + hex.EncodeToString(m.Sum(nil))))
		return c.line()
	}
	if got := answer("carol@example.org", "secret"); !strings.HasPrefix(got, "a OK [CAPABILITY") {
		t.Fatalf("carol: %q", got)
	}
	if got := answer("carol@example.org", "nope"); got != "a NO [AUTHENTICATIONFAILED] Authentication failed." {
		t.Fatalf("carol, wrong password: %q", got)
	}
	if got := answer("alice@example.org", "secret"); got != "a NO [AUTHENTICATIONFAILED] Authentication failed." {
		t.Fatalf("alice (argon2id): %q", got)
	}
	h.waitLog(t, "reason=stored password scheme ARGON2ID cannot do CRAM-MD5")
	// An initial response is refused (the server speaks first).
	c := h.dial(t)
	c.expect("AUTHENTICATE CRAM-MD5 "+b64("carol@example.org 00"), "NO [AUTHENTICATIONFAILED] Authentication failed.")
}
