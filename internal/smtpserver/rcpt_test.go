package smtpserver

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	"mailwarden/internal/config"
	"mailwarden/internal/directory"
)

func TestRcpt(t *testing.T) {
	loopbackRelay := func(c *config.Config) {
		c.Networks = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	}
	tempfail := func(c *config.Config) { c.Delivery.OverQuotaTempfail = true }
	for _, tc := range []struct {
		name string
		mod  func(*config.Config)
		rcpt string
		want string
	}{
		{"local", nil, "alice@example.org", "250 2.1.5 Ok"},
		{"extension", nil, "alice+tag@example.org", "250 2.1.5 Ok"},
		{"upper case", nil, "ALICE@EXAMPLE.ORG", "250 2.1.5 Ok"},
		{"alias to remote", nil, "fwd@example.org", "250 2.1.5 Ok"},
		{"backup mx", nil, "x@backup.example", "250 2.1.5 Ok"},
		{"unknown", nil, "nobody@example.org", "550 5.1.1 <nobody@example.org>: Recipient address rejected: User unknown in virtual mailbox table"},
		{"bad domain", nil, "x@-bad-.example", "501 5.1.3 Bad recipient address syntax"},
		{"relay", nil, "x@foreign.example", "554 5.7.1 <x@foreign.example>: Relay access denied"},
		{"relay upper", nil, "x@FOREIGN.Example", "554 5.7.1 "},
		{"relay trailing dot", nil, "x@foreign.example.", "501 5.1.3 "},
		{"relay subdomain", nil, "x@sub.example.org", "554 5.7.1 "},
		{"relay suffix", nil, "x@example.org.foreign.example", "554 5.7.1 "},
		{"relay prefix", nil, "x@fooexample.org", "554 5.7.1 "},
		{"relay source route", nil, "@example.org:x@foreign.example", "554 5.7.1 "},
		{"relay address literal", nil, "x@[192.0.2.1]", "554 5.7.1 "},
		{"relay ipv6 literal", nil, "x@[IPv6:2001:db8::1]", "554 5.7.1 "},
		{"percent hack", nil, "x%foreign.example@example.org", "550 5.1.1 "},
		{"bang path", nil, "foreign.example!x@example.org", "550 5.1.1 "},
		{"double at", nil, "x@foreign.example@example.org", "501 5.1.3 "},
		{"quoted at", nil, `"x@foreign.example"@example.org`, "550 5.1.1 "},
		{"relay from mynetworks", loopbackRelay, "x@foreign.example", "250 2.1.5 Ok"},
		{"relay from mynetworks, permit_mynetworks off", func(c *config.Config) {
			loopbackRelay(c)
			c.SMTP.PermitMyNetworks = false
		}, "x@foreign.example", "554 5.7.1 "},
		{"over quota", nil, "full@example.org", "552 5.2.2 <full@example.org>: Mailbox full"},
		{"over quota tempfail", tempfail, "full@example.org", "452 4.2.2 <full@example.org>: Mailbox full"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := start(t, tc.mod)
			c := greet(t, h.addr)
			c.expect("MAIL FROM:<s@sender.example>", "250")
			got := c.expect("RCPT TO:<"+tc.rcpt+">", tc.want)
			if tc.want[0] != '2' {
				// Nothing can be sent with only refused recipients.
				c.expect("DATA", "5")
			} else if got != "250 2.1.5 Ok" {
				t.Errorf("reply %q", got)
			}
			c.expect("QUIT", "221")
			plain := !strings.HasPrefix(tc.rcpt, "@") && !strings.Contains(tc.rcpt, `"`)
			if tc.want[0] != '2' && plain {
				h.waitLog(t, "NOQUEUE: reject: RCPT from unknown[127.0.0.1]: "+tc.want)
				h.waitLog(t, "; from=<s@sender.example> to=<"+tc.rcpt+"> proto=ESMTP helo=<client.example>")
			}
		})
	}
}

func TestRcptLookupFailure(t *testing.T) {
	h := start(t, nil)
	h.dir.fail = errors.New("database is locked")
	c := greet(t, h.addr)
	c.expect("MAIL FROM:<s@sender.example>", "250")
	c.expect("RCPT TO:<alice@example.org>", "451 4.3.0 <alice@example.org>: Temporary lookup failure")
	h.waitLog(t, "database is locked")
}

// TestNoOpenRelay mixes refused foreign recipients with a local one: only
// the local copy may be delivered, from any client outside mynetworks.
func TestNoOpenRelay(t *testing.T) {
	h := start(t, nil)
	c := greet(t, h.addr)
	c.expect("MAIL FROM:<s@sender.example>", "250")
	for _, r := range []string{"a@foreign.example", "b@[127.0.0.1]", "@example.org,@x.example:c@foreign.example"} {
		c.expect("RCPT TO:<"+r+">", "554 5.7.1")
	}
	c.expect("RCPT TO:<alice@example.org>", "250")
	c.expect("DATA", "354")
	c.write(simpleBody + ".\r\n")
	c.expect("", "250 2.0.0 Ok: queued as ")
	msgs := h.del.delivered()
	if len(msgs) != 1 {
		t.Fatalf("%d deliveries", len(msgs))
	}
	for _, r := range msgs[0].rcpts {
		if r.Dest.Kind != directory.Local {
			t.Errorf("relayed to %+v", r)
		}
	}
	if n := len(msgs[0].env.Recipients); n != 1 {
		t.Errorf("%d envelope recipients", n)
	}
}

func TestHardErrorLimit(t *testing.T) {
	h := start(t, func(c *config.Config) { c.SMTP.HardErrorLimit = 3 })
	c := greet(t, h.addr)
	c.expect("MAIL FROM:<s@sender.example>", "250")
	c.expect("RCPT TO:<a@example.org>", "550 5.1.1")
	c.expect("RCPT TO:<b@foreign.example>", "554 5.7.1")
	c.expect("RCPT TO:<c@example.org>", "550 5.1.1")
	c.expect("", "421 4.7.0 Error: too many errors")
	if rest := c.rest(); rest != "" {
		t.Errorf("after 421: %q", rest)
	}
	h.waitLog(t, "disconnect from unknown[127.0.0.1] ehlo=1 mail=1 rcpt=0/3 commands=2/5")
}

// A delivered message clears the error count, as in Postfix.
func TestHardErrorLimitReset(t *testing.T) {
	h := start(t, func(c *config.Config) { c.SMTP.HardErrorLimit = 2 })
	c := greet(t, h.addr)
	c.expect("MAIL FROM:<s@sender.example>", "250")
	c.expect("RCPT TO:<a@example.org>", "550 5.1.1")
	c.expect("RCPT TO:<alice@example.org>", "250")
	c.expect("DATA", "354")
	c.write(simpleBody + ".\r\n")
	c.expect("", "250 2.0.0 Ok")
	c.expect("MAIL FROM:<s@sender.example>", "250")
	c.expect("RCPT TO:<b@example.org>", "550 5.1.1")
	c.expect("RCPT TO:<alice@example.org>", "250")
}

func TestJunkCommandLimit(t *testing.T) {
	h := start(t, func(c *config.Config) {
		c.SMTP.JunkCommandLimit = 2
		c.SMTP.HardErrorLimit = 2
	})
	c := greet(t, h.addr)
	c.expect("RSET", "250")
	c.expect("RSET", "250")
	c.expect("RSET", "250") // junk 3: error 1
	c.expect("RSET", "421 4.7.0 Error: too many errors")
}

func TestNestedMail(t *testing.T) {
	h := start(t, nil)
	c := greet(t, h.addr)
	c.expect("MAIL FROM:<s@sender.example>", "250")
	c.expect("MAIL FROM:<t@sender.example>", "503 5.5.1 Error: nested MAIL command")
	c.expect("RSET", "250")
	c.expect("MAIL FROM:<t@sender.example>", "250")
}

func TestMaxRecipients(t *testing.T) {
	h := start(t, func(c *config.Config) { c.SMTP.MaxRecipients = 2 })
	c := greet(t, h.addr)
	c.expect("MAIL FROM:<s@sender.example>", "250")
	c.expect("RCPT TO:<alice@example.org>", "250")
	c.expect("RCPT TO:<bob@example.org>", "250")
	c.expect("RCPT TO:<alice+x@example.org>", "452 4.5.3")
	c.expect("DATA", "354")
	c.write(simpleBody + ".\r\n")
	c.expect("", "250 2.0.0 Ok")
	if got := h.del.delivered()[0].env.Recipients; len(got) != 2 {
		t.Errorf("recipients %v", got)
	}
}

// Two addresses reaching one mailbox give one copy.
func TestDuplicateDestinations(t *testing.T) {
	h := start(t, nil)
	c := greet(t, h.addr)
	c.send("s@sender.example", []string{"alice@example.org", "alice+tag@example.org", "bob@example.org"}, simpleBody)
	m := h.del.delivered()[0]
	if len(m.rcpts) != 2 || len(m.env.Recipients) != 3 {
		t.Errorf("routed %v, envelope %v", m.rcpts, m.env.Recipients)
	}
	if strings.Contains(m.trace, "\tfor <") {
		t.Errorf("trace names a recipient of several: %q", m.trace)
	}
}
