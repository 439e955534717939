package msgauth

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"mailwarden/internal/config"
	"mailwarden/internal/dnsx/dnstest"
	"mailwarden/internal/envelope"
	"mailwarden/internal/msgauth/arc"
)

// keyPair writes an RSA key to a file and publishes it at name.
func keyPair(t *testing.T, dns *dnstest.Server, name string) string {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKIXPublicKey(&k.PublicKey)
	dns.TXT(name, "v=DKIM1; k=rsa; p="+base64.StdEncoding.EncodeToString(der))
	path := filepath.Join(t.TempDir(), "key.pem")
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// applied is the message with the prepended fields of m.Env.Header on
// top, first edit topmost, as delivery.Compose writes them.
func applied(m *Message, raw string) string {
	var top strings.Builder
	for _, e := range m.Env.Header {
		if e.Op == envelope.Prepend {
			top.WriteString(e.Field + "\r\n")
		}
	}
	return top.String() + raw
}

const inbound = "From: Alice <alice@sender.test>\r\nTo: list@our.test\r\nSubject: hi\r\n" +
	"Date: Thu, 3 Dec 2026 10:00:00 +0000\r\nMessage-ID: <1@sender.test>\r\n\r\nHello.\r\n"

func TestARCSealsForwardedMail(t *testing.T) {
	dns := dnstest.New(t, "")
	cfg := config.Default()
	cfg.Hostname = "mx.our.test"
	cfg.ARC.KeyFile = keyPair(t, dns, "arc._domainkey.our.test")
	a, err := New(Deps{Config: cfg, DNS: dns.Resolver()})
	if err != nil {
		t.Fatal(err)
	}
	run := func(raw string, forwarded bool) (*Message, string) {
		t.Helper()
		m := msg(raw)
		m.Inbound, m.Forwarded = true, forwarded
		m.Env.ClientIP = netip.MustParseAddr("192.0.2.7")
		m.Content = func() (io.Reader, error) { return strings.NewReader(applied(m, raw)), nil }
		if err := a.Run(context.Background(), m); err != nil {
			t.Fatal(err)
		}
		return m, applied(m, raw)
	}
	// Not forwarded: verified (none), not sealed.
	m, out := run(inbound, false)
	if m.ARC.Result != "none" || !strings.Contains(out, "\tarc=none") || strings.Contains(out, "ARC-Seal") {
		t.Fatalf("local delivery:\n%s", out)
	}
	// Forwarded: sealed i=1, cv=none, our results copied into the AAR.
	m, out = run(inbound, true)
	if !strings.Contains(out, "ARC-Seal: i=1; a=rsa-sha256;") || !strings.Contains(out, "cv=none") ||
		!strings.Contains(out, "ARC-Authentication-Results: i=1; mx.our.test;"+m.AuthResults) {
		t.Fatalf("forwarded:\n%s", out)
	}
	v := &arc.Verifier{Lookup: dns.Resolver().LookupTXT}
	res, err := v.Verify(context.Background(), strings.NewReader(out))
	if err != nil || res.Status != arc.Pass || res.Sealers[0] != "our.test" {
		t.Fatalf("our seal: %+v %v\n%s", res, err, out)
	}
	// Forwarded again (through a second alias): i=2, cv=pass, and the
	// verdict says who sealed before.
	m, out2 := run(out, true)
	if m.ARC.Result != "pass" || strings.Join(m.ARC.Sealers, ",") != "our.test" || !strings.HasPrefix(m.ARC.OldestAAR, "mx.our.test;") {
		t.Fatalf("verdict: %+v", m.ARC)
	}
	if !strings.Contains(m.AuthResults, "arc=pass (i=1) header.oldest-pass=0 smtp.remote-ip=192.0.2.7") {
		t.Fatalf("results: %s", m.AuthResults)
	}
	if res, _ := v.Verify(context.Background(), strings.NewReader(out2)); res.Status != arc.Pass || res.Instances != 2 {
		t.Fatalf("second seal: %+v", res)
	}
	// A broken chain is reported as fail and sealed with cv=fail.
	m, out3 := run(strings.Replace(out, "Hello.", "Hello!", 1), true)
	if m.ARC.Result != "fail" || !strings.Contains(m.AuthResults, "arc=fail (ARC-Message-Signature i=1: body hash did not verify)") ||
		!strings.Contains(out3, "cv=fail") {
		t.Fatalf("broken chain: %s\n%s", m.AuthResults, out3)
	}
}

func TestARCConfig(t *testing.T) {
	cfg := config.Default()
	cfg.ARC.Verify = false
	a, err := New(Deps{Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range a.verifiers {
		if v.name == "arc" {
			t.Fatal("arc verifier built with verify = false")
		}
	}
	for _, s := range a.signers {
		if s.name == "arc" {
			t.Fatal("arc sealer built without a key")
		}
	}
	cfg.ARC.KeyFile = filepath.Join(t.TempDir(), "missing.pem")
	if _, err := New(Deps{Config: cfg}); err == nil || !strings.Contains(err.Error(), "arc.key_file") {
		t.Fatalf("missing key: %v", err)
	}
	dns := dnstest.New(t, "")
	cfg.ARC.KeyFile = keyPair(t, dns, "x")
	os.Chmod(cfg.ARC.KeyFile, 0o644)
	if _, err := New(Deps{Config: cfg}); err == nil || !strings.Contains(err.Error(), "readable by everyone") {
		t.Fatalf("world-readable key: %v", err)
	}
}

func TestDomainKeys(t *testing.T) {
	dns := dnstest.New(t, "")
	cfg := config.Default()
	cfg.Hostname = "mx.our.test"
	cfg.DomainKeys.SignDomains = []string{"our.test"}
	cfg.DomainKeys.KeyFile = keyPair(t, dns, "dk._domainkey.our.test")
	a, err := New(Deps{Config: cfg, DNS: dns.Resolver()})
	if err != nil {
		t.Fatal(err)
	}
	raw := "From: Bob <bob@our.test>\r\nTo: x@else.test\r\nSubject: s\r\n\r\nBody\r\n"
	m := msg(raw)
	m.Trusted = true
	if err := a.Run(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	signed := applied(m, raw)
	if !strings.HasPrefix(signed, "DomainKey-Signature: a=rsa-sha1; q=dns; c=nofws;") {
		t.Fatalf("not signed:\n%s", signed)
	}
	// Other senders' mail is not signed.
	m = msg(strings.Replace(raw, "bob@our.test", "bob@else.test", 1))
	m.Trusted = true
	a.Run(context.Background(), m)
	if len(m.Env.Header) != 0 {
		t.Fatalf("signed for else.test: %+v", m.Env.Header)
	}
	check := func(raw string) string {
		m := msg(raw)
		m.Inbound = true
		if err := a.Run(context.Background(), m); err != nil {
			t.Fatal(err)
		}
		return m.AuthResults
	}
	if got := check(signed); !strings.Contains(got, "domainkeys=pass header.d=our.test header.from=bob@our.test") {
		t.Fatalf("inbound signed: %s", got)
	}
	if got := check(strings.Replace(signed, "Body", "B0dy", 1)); !strings.Contains(got, "domainkeys=fail (signature did not verify) header.d=our.test") {
		t.Fatalf("inbound changed: %s", got)
	}
	if got := check(raw); !strings.Contains(got, "domainkeys=none") {
		t.Fatalf("inbound unsigned: %s", got)
	}
}
