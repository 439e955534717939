package msgauth

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"mailwarden/internal/config"
	"mailwarden/internal/dnsx/dnstest"
	"mailwarden/internal/envelope"
	"mailwarden/internal/msgauth/dkim"
	"mailwarden/internal/sqldb"
)

// TestDKIMSignAndVerify runs the registered DKIM signer and verifier the
// way the pipeline does: trusted mail from a domain with keys is signed
// with each (RSA and Ed25519), the signed message verifies inbound, and
// the config turns either side off.
func TestDKIMSignAndVerify(t *testing.T) {
	ctx := context.Background()
	db, err := sqldb.Open(ctx, filepath.Join(t.TempDir(), "t.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	st := dkim.NewStore(db, nil)
	dns := dnstest.New(t, "")
	for _, a := range []dkim.Algorithm{dkim.RSA2048, dkim.Ed25519} {
		k, err := st.Create(ctx, "example.com", "", a)
		if err != nil {
			t.Fatal(err)
		}
		dns.TXT(strings.TrimSuffix(k.RecordName(), "."), k.Record())
	}
	cfg := config.Default()
	cfg.Hostname = "mx.example.net"
	auth, err := New(Deps{Config: cfg, DB: db, DNS: dns.Resolver()})
	if err != nil {
		t.Fatal(err)
	}
	raw := "From: Alice <alice@Example.com>\r\nTo: bob@example.net\r\nSubject: hi\r\n\r\nHello\r\n"
	out := msg(raw)
	out.Trusted = true
	if err := auth.Run(ctx, out); err != nil {
		t.Fatal(err)
	}
	var fields []string
	for _, e := range out.Env.Header {
		if e.Op == envelope.Prepend && strings.HasPrefix(e.Field, "DKIM-Signature:") {
			fields = append(fields, e.Field)
		}
	}
	if len(fields) != 2 {
		t.Fatalf("signed with %d fields: %+v", len(fields), out.Env.Header)
	}
	var signedMsg string
	for i := len(fields) - 1; i >= 0; i-- { // prepends: the last applied is topmost
		signedMsg += fields[i] + "\r\n"
	}
	signedMsg += raw
	in := msg(signedMsg)
	in.Inbound = true
	if err := auth.Run(ctx, in); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range in.Env.Auth {
		if r.Method == "dkim" {
			got = append(got, r.Result+" d="+r.Prop("header", "d")+" a="+r.Prop("header", "a"))
		}
	}
	if strings.Join(got, ", ") != "pass d=example.com a=ed25519-sha256, pass d=example.com a=rsa-sha256" &&
		strings.Join(got, ", ") != "pass d=example.com a=rsa-sha256, pass d=example.com a=ed25519-sha256" {
		t.Errorf("inbound results %v", got)
	}
	// Untrusted mail is not signed; a foreign From domain is not signed.
	foreign := msg(strings.Replace(raw, "Example.com", "example.org", 1))
	foreign.Trusted = true
	for _, m := range []*Message{msg(raw), foreign} {
		if err := auth.Run(ctx, m); err != nil {
			t.Fatal(err)
		}
		if len(m.Env.Header) != 0 {
			t.Errorf("signed: %+v", m.Env.Header)
		}
	}
	// An unsigned inbound message is dkim=none.
	none := msg(raw)
	none.Inbound = true
	auth.Run(ctx, none)
	if len(none.Env.Auth) == 0 || none.Env.Auth[len(none.Env.Auth)-1].Result != "none" {
		t.Errorf("unsigned: %+v", none.Env.Auth)
	}
	// [dkim] sign = false, verify = false: neither runs.
	cfg2 := config.Default()
	cfg2.DKIM.Sign, cfg2.DKIM.Verify = false, false
	off, err := New(Deps{Config: cfg2, DB: db, DNS: dns.Resolver()})
	if err != nil {
		t.Fatal(err)
	}
	m := msg(signedMsg)
	m.Inbound = true
	off.Run(ctx, m)
	for _, r := range m.Env.Auth {
		if r.Method == "dkim" {
			t.Errorf("verified with verify = false: %+v", r)
		}
	}
	m = msg(raw)
	m.Trusted = true
	off.Run(ctx, m)
	if len(m.Env.Header) != 0 {
		t.Errorf("signed with sign = false: %+v", m.Env.Header)
	}
}
