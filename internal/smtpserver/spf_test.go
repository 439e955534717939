package smtpserver

import (
	"strings"
	"testing"

	"mailwarden/internal/config"
	"mailwarden/internal/dnsx/dnstest"
)

// The zone's TTLs are 0 so the resolver cache keeps nothing: the query
// counts show how often the SPF outcome was computed.
const spfZone = `
sender.example. 0 TXT "v=spf1 ip4:127.0.0.1 -all"
bad.example. 0 TXT "v=spf1 -all exp=why.bad.example"
why.bad.example. 0 TXT "%{i} may not send for %{d}"
soft.example. 0 TXT "v=spf1 ~all"
client.example. 0 TXT "v=spf1 a -all"
client.example. 0 A 127.0.0.1
`

func startSPF(t *testing.T, mod func(*config.Config)) (*harness, *dnstest.Server) {
	t.Helper()
	dns := dnstest.New(t, spfZone)
	h := start(t, func(cfg *config.Config) {
		cfg.SPF.SkipAddresses = nil // the test client is 127.0.0.1
		cfg.Restrictions.Set = map[string]bool{"sender": true, "recipient": true}
		if mod != nil {
			mod(cfg)
		}
	}, func(o *Options) { o.DNS = dns.Resolver() })
	return h, dns
}

func TestSPFRecorded(t *testing.T) {
	h, dns := startSPF(t, func(cfg *config.Config) {
		// Asked at MAIL and twice at RCPT, and once more at end of data:
		// computed once.
		cfg.Restrictions.Sender = []string{"check_spf"}
		cfg.Restrictions.Recipient = []string{"check_spf", "reject_unauth_destination", "check_spf"}
	})
	c := greet(t, h.addr)
	if r := c.send("s@sender.example", []string{"alice@example.org", "bob@example.org"}, simpleBody); !strings.HasPrefix(r, "250") {
		t.Fatalf("DATA: %s", r)
	}
	if n := dns.Queries("sender.example"); n != 1 {
		t.Errorf("sender.example asked %d times, want once (memoized per transaction)", n)
	}
	msgs := h.del.delivered()
	if len(msgs) != 1 {
		t.Fatalf("%d messages", len(msgs))
	}
	env := msgs[0].env
	if len(env.Auth) != 2 || env.Auth[0].Method != "spf" || env.Auth[0].Result != "pass" ||
		env.Auth[0].Prop("smtp", "mailfrom") != "sender.example" || env.Auth[1].Prop("smtp", "helo") != "client.example" ||
		env.Auth[1].Result != "pass" || env.Auth[0].Reason != "sender SPF authorized" {
		t.Errorf("Auth: %+v", env.Auth)
	}
	want := "Received-SPF: Pass (mailfrom) identity=mailfrom; client-ip=127.0.0.1; helo=client.example; envelope-from=s@sender.example; receiver=example.org "
	if len(env.Header) == 0 || env.Header[0].Field != want {
		t.Errorf("header edits %+v, want %q", env.Header, want)
	}
	// A second transaction computes its own outcome.
	c.send("s@sender.example", []string{"alice@example.org"}, simpleBody)
	if n := dns.Queries("sender.example"); n != 2 {
		t.Errorf("second transaction: %d queries", n)
	}
}

func TestCheckSPFRejects(t *testing.T) {
	h, _ := startSPF(t, func(cfg *config.Config) {
		cfg.Restrictions.Recipient = []string{"reject_unauth_destination", "check_spf"}
	})
	c := greet(t, h.addr)
	c.expect("MAIL FROM:<x@bad.example>", "250")
	r := c.expect("RCPT TO:<alice@example.org>", "550")
	want := "550 5.7.23 Message rejected due to: 127.0.0.1 may not send for bad.example. Please see http://www.openspf.net/Why?s=mfrom;id=x@bad.example;ip=127.0.0.1;r=example.org"
	if r != want {
		t.Errorf("got %q\nwant %q", r, want)
	}
	c.expect("RSET", "250")
	// Softfail passes under the default mail_from_reject = fail, and is
	// recorded.
	if r := c.send("x@soft.example", []string{"alice@example.org"}, simpleBody); !strings.HasPrefix(r, "250") {
		t.Fatalf("softfail: %s", r)
	}
	env := h.del.delivered()[0].env
	if env.Auth[0].Result != "softfail" || !strings.HasPrefix(env.Header[0].Field, "Received-SPF: Softfail (mailfrom) identity=mailfrom;") {
		t.Errorf("softfail recorded as %+v %+v", env.Auth, env.Header)
	}
}

func TestCheckSPFNullSenderHELO(t *testing.T) {
	h, _ := startSPF(t, func(cfg *config.Config) {
		cfg.Restrictions.Recipient = []string{"reject_unauth_destination", "check_spf"}
	})
	c := dial(t, h.addr)
	c.expect("", "220")
	c.expect("EHLO bad.example", "250")
	c.expect("MAIL FROM:<>", "250")
	r := c.expect("RCPT TO:<alice@example.org>", "550 5.7.23 ")
	if !strings.Contains(r, "s=helo;id=bad.example;") {
		t.Errorf("HELO rejection: %q", r)
	}
	c.expect("RSET", "250")
	c.expect("EHLO client.example", "250")
	if r := c.send("", []string{"alice@example.org"}, simpleBody); !strings.HasPrefix(r, "250") {
		t.Fatalf("null sender, HELO pass: %s", r)
	}
	env := h.del.delivered()[0].env
	if len(env.Auth) != 1 || env.Auth[0].Prop("smtp", "helo") != "client.example" || env.Auth[0].Result != "pass" {
		t.Errorf("null sender: Auth %+v, want the HELO result alone", env.Auth)
	}
}

func TestSPFHeaderTypeAndOff(t *testing.T) {
	h, _ := startSPF(t, func(cfg *config.Config) { cfg.SPF.HeaderType = "ar" })
	c := greet(t, h.addr)
	c.send("s@sender.example", []string{"alice@example.org"}, simpleBody)
	env := h.del.delivered()[0].env
	if len(env.Auth) != 2 || len(env.Header) != 0 {
		t.Errorf("header_type ar: %+v %+v", env.Auth, env.Header)
	}
	hn, _ := startSPF(t, func(cfg *config.Config) { cfg.SPF.HeaderType = "none" })
	c = greet(t, hn.addr)
	c.send("s@sender.example", []string{"alice@example.org"}, simpleBody)
	if env := hn.del.delivered()[0].env; len(env.Auth) != 2 || len(env.Header) != 0 {
		t.Errorf("header_type none: %+v %+v", env.Auth, env.Header)
	}
	h2, dns := startSPF(t, func(cfg *config.Config) { cfg.SPF.Enable = false })
	c = greet(t, h2.addr)
	c.send("s@sender.example", []string{"alice@example.org"}, simpleBody)
	env = h2.del.delivered()[0].env
	if len(env.Auth) != 0 || len(env.Header) != 0 || dns.Queries("sender.example") != 0 {
		t.Errorf("enable = false: %+v %+v", env.Auth, env.Header)
	}
	h3, _ := startSPF(t, func(cfg *config.Config) { cfg.SPF.SkipAddresses = []string{"127.0.0.0/8"} })
	c = greet(t, h3.addr)
	c.send("s@sender.example", []string{"alice@example.org"}, simpleBody)
	if env := h3.del.delivered()[0].env; len(env.Auth) != 0 || len(env.Header) != 0 {
		t.Errorf("skip_addresses: %+v %+v", env.Auth, env.Header)
	}
}
