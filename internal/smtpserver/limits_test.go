package smtpserver

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"mailwarden/internal/anvil"
	"mailwarden/internal/auth/login"
	"mailwarden/internal/config"
	"mailwarden/internal/directory"
	"mailwarden/internal/testutil"
)

func withLimiter(o *Options) { o.Limiter = anvil.New(nil, nil) }

func TestRateLimitReplies(t *testing.T) {
	for _, tc := range []struct {
		name string
		mod  func(*config.Config)
		run  func(t *testing.T, h *harness)
		log  string
	}{
		{"connection", func(c *config.Config) { c.SMTP.ClientConnectionRateLimit = 1 }, func(t *testing.T, h *harness) {
			greet(t, h.addr).expect("QUIT", "221")
			c := dial(t, h.addr)
			c.expect("", "421 4.7.0 mx.test.example Error: too many connections from 127.0.0.1")
			if rest := c.rest(); rest != "" {
				t.Fatalf("after 421: %q", rest)
			}
		}, "warning: Connection rate limit exceeded: 2 from unknown[127.0.0.1] for service smtp"},
		{"message", func(c *config.Config) { c.SMTP.ClientMessageRateLimit = 1 }, func(t *testing.T, h *harness) {
			c := greet(t, h.addr)
			c.expect("MAIL FROM:<a@sender.example>", "250")
			c.expect("RSET", "250")
			c.expect("MAIL FROM:<a@sender.example>", "450 4.7.1 Error: too much mail from 127.0.0.1")
		}, "warning: Message delivery request rate limit exceeded: 2 from unknown[127.0.0.1] for service smtp"},
		{"recipient", func(c *config.Config) { c.SMTP.ClientRecipientRateLimit = 2 }, func(t *testing.T, h *harness) {
			c := greet(t, h.addr)
			c.expect("MAIL FROM:<a@sender.example>", "250")
			c.expect("RCPT TO:<alice@example.org>", "250")
			c.expect("RCPT TO:<nobody@example.org>", "550")
			c.expect("RCPT TO:<alice@example.org>", "450 4.7.1 Error: too many recipients from 127.0.0.1")
		}, "warning: Recipient address rate limit exceeded: 3 from unknown[127.0.0.1] for service smtp"},
		{"exceptions", func(c *config.Config) {
			c.SMTP.ClientRecipientRateLimit = 1
			c.SMTP.ClientEventLimitExceptions = []string{"127.0.0.0/8"}
			c.SMTP.EventLimitExceptions = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
		}, func(t *testing.T, h *harness) {
			c := greet(t, h.addr)
			c.expect("MAIL FROM:<a@sender.example>", "250")
			for range 3 {
				c.expect("RCPT TO:<alice@example.org>", "250")
			}
		}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := start(t, tc.mod, withLimiter)
			tc.run(t, h)
			if tc.log != "" {
				h.waitLog(t, tc.log)
			}
		})
	}
}

// startLimitedSubmission is a Submission server with a memory-only
// limiter.
func startLimitedSubmission(t *testing.T, mod func(*config.Config)) (*harness, *subHarness) {
	serverTLS, clientTLS, _ := testutil.LocalTLS(t)
	accounts := testutil.NewDir(directory.Mailbox{Username: "alice@example.org", PasswordHash: testutil.SecretHash(t), Active: true})
	h := start(t, func(c *config.Config) {
		c.Auth.FailureDelay = 0
		mod(c)
	}, func(o *Options) {
		o.Mode, o.TLS = Submission, serverTLS
		o.Auth = login.New(accounts, o.Config, o.Logger)
		withLimiter(o)
	})
	return h, &subHarness{harness: h, client: clientTLS}
}

func TestTLSAndAuthRates(t *testing.T) {
	h, sh := startLimitedSubmission(t, func(c *config.Config) {
		c.SMTP.ClientNewTLSSessionRateLimit = 1
		c.SMTP.ClientAuthRateLimit = 1
	})
	c, _ := sh.greetTLS(t, Submission)
	c.expect("AUTH PLAIN "+b64("\x00alice@example.org\x00wrong"), "535")
	c.expect("AUTH PLAIN "+b64("\x00alice@example.org\x00"+testutil.Secret), "450 4.7.1 Error: too many AUTH commands from 127.0.0.1")
	c2 := greet(t, h.addr)
	c2.expect("STARTTLS", "454 4.7.0 Error: too many new TLS sessions from unknown[127.0.0.1]")
	h.waitLog(t, "warning: New TLS session rate limit exceeded: 2 from unknown[127.0.0.1] for service submission")
	h.waitLog(t, "warning: AUTH command rate limit exceeded: 2 from unknown[127.0.0.1] for service submission")
}

// Postfix's error limits count errors "without delivering mail": a
// delivered message starts the count again.
func TestErrorsResetByDelivery(t *testing.T) {
	h := start(t, func(c *config.Config) { c.SMTP.HardErrorLimit = 3 })
	c := greet(t, h.addr)
	c.expect("BOGUS", "502")
	c.expect("BOGUS", "502")
	if r := c.send("a@sender.example", []string{"alice@example.org"}, simpleBody); !strings.HasPrefix(r, "250") {
		t.Fatalf("send: %q", r)
	}
	c.expect("BOGUS", "502")
	c.expect("BOGUS", "502")
	c.expect("NOOP", "250")
	c.expect("BOGUS", "502")
	c.expect("", "421 4.7.0 Error: too many errors")
}

// Past soft_error_limit the session goes on (slowed down) until the hard
// limit.
func TestSoftErrorLimit(t *testing.T) {
	h := start(t, func(c *config.Config) {
		c.SMTP.SoftErrorLimit = 1
		c.SMTP.ErrorSleepTime = config.Duration(time.Millisecond)
		c.SMTP.HardErrorLimit = 4
	})
	c := greet(t, h.addr)
	for range 3 {
		c.expect("BOGUS", "502")
	}
	c.expect("NOOP", "250")
	c.expect("BOGUS", "502")
	c.expect("", "421 4.7.0 Error: too many errors")
}

func TestPregreet(t *testing.T) {
	for _, tc := range []struct {
		action string
		early  func(t *testing.T, c *client) // after the early EHLO was sent
		later  func(t *testing.T, c *client) // a polite connection afterwards
	}{
		{"enforce", func(t *testing.T, c *client) {
			c.expect("", "220 ")
			c.expect("", "250")
			c.expect("MAIL FROM:<a@sender.example>", "250")
			c.expect("RCPT TO:<alice@example.org>", "550 5.5.1 Protocol error")
		}, func(t *testing.T, c *client) {
			c.expect("", "220 ")
			c.expect("EHLO client.example", "250")
			c.expect("MAIL FROM:<a@sender.example>", "250")
			c.expect("RCPT TO:<alice@example.org>", "550 5.5.1 Protocol error")
		}},
		{"drop", func(t *testing.T, c *client) {
			c.expect("", "521 5.5.1 Protocol error")
		}, func(t *testing.T, c *client) {
			c.expect("", "521 5.5.1 Protocol error")
		}},
		{"ignore", func(t *testing.T, c *client) {
			c.expect("", "220 ")
			c.expect("", "250")
			c.expect("MAIL FROM:<a@sender.example>", "250")
		}, func(t *testing.T, c *client) {
			c.expect("", "220 ")
			c.expect("EHLO client.example", "250")
			c.expect("MAIL FROM:<a@sender.example>", "250")
		}},
	} {
		t.Run(tc.action, func(t *testing.T) {
			h := start(t, func(c *config.Config) {
				c.Postscreen.GreetAction = tc.action
				c.Postscreen.GreetWait = config.Duration(5 * time.Second)
			}, withLimiter)
			c := dial(t, h.addr)
			c.write("EHLO early.example\r\n")
			tc.early(t, c)
			tc.later(t, dial(t, h.addr))
			if tc.action != "ignore" {
				h.waitLog(t, `PREGREET 20 after `)
				h.waitLog(t, `from [127.0.0.1]:`)
			} else if strings.Contains(h.logs.String(), "PREGREET") {
				t.Fatalf("PREGREET logged under ignore:\n%s", h.logs.String())
			}
		})
	}
}

func TestEarlyText(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"EHLO x\r\n", `EHLO x\r\n`},
		{"\x00\x1b\xff", "???"},
		{strings.Repeat("a", 150), strings.Repeat("a", 100)},
	} {
		if got := earlyText([]byte(tc.in)); got != tc.want {
			t.Errorf("earlyText(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
