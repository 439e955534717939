package msgauth

import (
	"context"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"mailwarden/internal/config"
	"mailwarden/internal/dnsx/dnstest"
	"mailwarden/internal/msgauth/arc"
	"mailwarden/internal/msgauth/dkim"
	"mailwarden/internal/sqldb"
)

// TestARCSealsWithDKIMKey: without [arc] key_file, forwarded mail is
// sealed with the sealing domain's active RSA DKIM key and its selector;
// a domain with only an Ed25519 key (or none) forwards unsealed.
func TestARCSealsWithDKIMKey(t *testing.T) {
	ctx := context.Background()
	db, err := sqldb.Open(ctx, filepath.Join(t.TempDir(), "t.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	dns := dnstest.New(t, "")
	cfg := config.Default()
	cfg.Hostname = "mx.our.test"
	a, err := New(Deps{Config: cfg, DB: db, DNS: dns.Resolver()})
	if err != nil {
		t.Fatal(err)
	}
	forward := func() string {
		t.Helper()
		m := msg(inbound)
		m.Inbound, m.Forwarded = true, true
		m.Content = func() (io.Reader, error) { return strings.NewReader(applied(m, inbound)), nil }
		if err := a.Run(ctx, m); err != nil {
			t.Fatal(err)
		}
		return applied(m, inbound)
	}
	if out := forward(); strings.Contains(out, "ARC-Seal") {
		t.Fatalf("sealed without a key:\n%s", out)
	}
	st := dkim.NewStore(db, nil)
	if _, err := st.Create(ctx, "our.test", "ed1", dkim.Ed25519); err != nil {
		t.Fatal(err)
	}
	if out := forward(); strings.Contains(out, "ARC-Seal") {
		t.Fatalf("sealed with an Ed25519 key:\n%s", out)
	}
	k, err := st.Create(ctx, "our.test", "rsa1", dkim.RSA2048)
	if err != nil {
		t.Fatal(err)
	}
	dns.TXT(strings.TrimSuffix(k.RecordName(), "."), k.Record())
	out := forward()
	if !strings.Contains(out, "d=our.test; s=rsa1;") {
		t.Fatalf("not sealed with the DKIM key:\n%s", out)
	}
	res, err := (&arc.Verifier{Lookup: dns.Resolver().LookupTXT}).Verify(ctx, strings.NewReader(out))
	if err != nil || res.Status != arc.Pass {
		t.Fatalf("seal with the DKIM key: %+v %v", res, err)
	}
}

// TestDomainKeysSignsWithDKIMKey: without [domainkeys] key_file, mail of
// a sign_domains domain is signed with its active RSA DKIM key.
func TestDomainKeysSignsWithDKIMKey(t *testing.T) {
	ctx := context.Background()
	db, err := sqldb.Open(ctx, filepath.Join(t.TempDir(), "t.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	dns := dnstest.New(t, "")
	cfg := config.Default()
	cfg.Hostname = "mx.our.test"
	cfg.DKIM.Sign = false // only DomainKeys here
	cfg.DomainKeys.SignDomains = []string{"our.test"}
	a, err := New(Deps{Config: cfg, DB: db, DNS: dns.Resolver()})
	if err != nil {
		t.Fatal(err)
	}
	raw := "From: Bob <bob@sub.our.test>\r\nTo: x@else.test\r\nSubject: s\r\n\r\nBody\r\n"
	send := func() string {
		t.Helper()
		m := msg(raw)
		m.Trusted = true
		if err := a.Run(ctx, m); err != nil {
			t.Fatal(err)
		}
		return applied(m, raw)
	}
	if out := send(); strings.Contains(out, "DomainKey-Signature") {
		t.Fatalf("signed without a key:\n%s", out)
	}
	k, err := dkim.NewStore(db, nil).Create(ctx, "our.test", "rsa1", dkim.RSA2048)
	if err != nil {
		t.Fatal(err)
	}
	dns.TXT(strings.TrimSuffix(k.RecordName(), "."), k.Record())
	out := send()
	if !strings.Contains(out, "s=rsa1; d=our.test;") {
		t.Fatalf("not signed with the DKIM key:\n%s", out)
	}
	m := msg(out)
	m.Inbound = true
	if err := a.Run(ctx, m); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(m.AuthResults, "domainkeys=pass header.d=our.test header.from=bob@sub.our.test") {
		t.Fatalf("verified: %s", m.AuthResults)
	}
}
