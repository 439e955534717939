package msgauth

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"io"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"mailwarden/internal/config"
	"mailwarden/internal/dnsx"
	"mailwarden/internal/dnsx/dnstest"
	"mailwarden/internal/envelope"
	"mailwarden/internal/msgauth/dkim"
	"mailwarden/internal/msgauth/spf"
)

// BenchmarkInboundChecks is the whole inbound message-authentication
// work for one message with warm DNS caches, as the MX service does it:
// SPF for MAIL FROM and HELO (memoized per transaction, so once), then at
// end of data iprev, DKIM (one ed25519 signature), DomainKeys, ARC (an
// unsealed message) and DMARC (p=reject, aligned pass), and the
// Authentication-Results field.
func BenchmarkInboundChecks(b *testing.B) {
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	p, err := dkim.PublicValue(priv)
	if err != nil {
		b.Fatal(err)
	}
	srv := dnstest.New(b, `
sender.test. TXT "v=spf1 ip4:192.0.2.0/24 -all"
mail.sender.test. TXT "v=spf1 a -all"
mail.sender.test. A 192.0.2.7
_dmarc.sender.test. TXT "v=DMARC1; p=reject"
`)
	// A selector of its own per run: the key cache outlives one run.
	sel := "s" + strconv.FormatInt(time.Now().UnixNano(), 36)
	srv.TXT(sel+"._domainkey.sender.test", dkim.Record(dkim.Ed25519, p))
	r := srv.Resolver()
	body := strings.Repeat("a line of the message body, as a person writes it.\r\n", 80) // ~4 KB
	head := "From: Sender <alice@sender.test>\r\nTo: bob@our.test\r\nSubject: benchmark\r\n" +
		"Date: Thu, 03 Dec 2026 12:00:00 +0000\r\nMessage-ID: <b@sender.test>\r\n\r\n"
	sig, err := dkim.Sign(strings.NewReader(head+body), []dkim.SigningKey{{Domain: "sender.test", Selector: sel, Signer: priv}}, dkim.SignConfig{})
	if err != nil || len(sig) != 1 {
		b.Fatal(sig, err)
	}
	raw := []byte(sig[0] + "\r\n" + head + body)

	cfg := config.Default()
	cfg.Hostname = "mx.our.test"
	a, err := New(Deps{Config: cfg, DNS: r})
	if err != nil {
		b.Fatal(err)
	}
	sc := &spf.Checker{DNS: dnsx.NewRRCache(r.(dnsx.RRLookup), 0), Receiver: cfg.Hostname}
	ip := netip.MustParseAddr("192.0.2.7")
	ctx := context.Background()
	run := func() *envelope.Envelope {
		env := &envelope.Envelope{ID: "B", From: "alice@sender.test", ClientIP: ip, ClientHost: "mail.sender.test",
			Client: envelope.Client{HostConfirmed: true}}
		o := sc.CheckTransaction(ctx, ip, "mail.sender.test", "alice@sender.test", spf.TxOptions{})
		for i, v := range []*spf.Verdict{o.MailFrom, o.HELO} {
			if v != nil {
				env.Auth = append(env.Auth, envelope.AuthResult{Method: "spf", Result: string(v.Result),
					Props: []envelope.AuthProp{{Type: "smtp", Name: []string{"mailfrom", "helo"}[i], Value: v.Domain}}})
			}
		}
		m := &Message{Env: env, Inbound: true, Content: func() (io.Reader, error) { return bytes.NewReader(raw), nil }}
		if err := a.Run(ctx, m); err != nil {
			b.Fatal(err)
		}
		return env
	}
	env := run() // warm the caches, and check the work is what is measured
	got := FormatResults(env.Auth)
	for _, want := range []string{"iprev=pass", "spf=pass", "dkim=pass", "dmarc=pass"} {
		if !strings.Contains(got, want) {
			b.Fatalf("results lack %s:%s", want, got)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		run()
	}
}
