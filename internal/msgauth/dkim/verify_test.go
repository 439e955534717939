package dkim

import (
	"context"
	"crypto"
	"strings"
	"testing"
	"time"

	"mailwarden/internal/dnsx/dnstest"
	"mailwarden/internal/envelope"
)

func verifyAll(t *testing.T, v *Verifier, msg string) []envelope.AuthResult {
	t.Helper()
	rs, err := v.Verify(context.Background(), strings.NewReader(msg))
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

func results(rs []envelope.AuthResult) string {
	var out []string
	for _, r := range rs {
		out = append(out, r.Result)
	}
	return strings.Join(out, ",")
}

func sign(t *testing.T, msg string, c SignConfig, ks ...SigningKey) []string {
	t.Helper()
	fields, err := Sign(strings.NewReader(msg), ks, c)
	if err != nil {
		t.Fatal(err)
	}
	return fields
}

func TestSignVerify(t *testing.T) {
	rsaKey, edKey := keys(t)
	dns := dnstest.New(t, "")
	publish(t, dns, "r1", "example.com", rsaKey, "")
	publish(t, dns, "e1", "example.com", edKey, "")
	publish(t, dns, "test", "example.com", rsaKey, "t=y")
	publish(t, dns, "strict", "example.com", rsaKey, "t=s")
	publish(t, dns, "wrong", "example.com", testKeys.rsaOther, "")
	dns.TXT("revoked._domainkey.example.com", "v=DKIM1; k=rsa; p=")
	dns.ServFail("down._domainkey.example.com", true)
	v := NewVerifier(dns.Resolver(), NewTXTCache(0, nil), VerifyConfig{})
	rsaR1 := SigningKey{Domain: "example.com", Selector: "r1", Signer: rsaKey}
	edE1 := SigningKey{Domain: "example.com", Selector: "e1", Signer: edKey}
	with := func(sel string, k crypto.Signer, ident string) SigningKey {
		return SigningKey{Domain: "example.com", Selector: sel, Signer: k, Identity: ident}
	}
	bodyChanged := func(m string) string { return strings.Replace(m, "figures are", "figures were", 1) }
	subjectChanged := func(m string) string { return strings.Replace(m, "Subject: quarterly", "Subject: Quarterly", 1) }
	fromAdded := func(m string) string {
		return strings.Replace(m, "To: bob", "From: Mallory <m@evil.example>\r\nTo: bob", 1)
	}
	refolded := func(m string) string {
		return strings.Replace(m, "Subject: quarterly figures", "Subject:  quarterly\r\n   figures ", 1)
	}
	for _, c := range []struct {
		name    string
		conf    SignConfig
		keys    []SigningKey
		change  func(string) string
		want    string
		reason  string // a part of the first result's reason
		comment string
	}{
		{name: "rsa", keys: []SigningKey{rsaR1}, want: "pass"},
		{name: "ed25519", keys: []SigningKey{edE1}, want: "pass"},
		{name: "dual", keys: []SigningKey{rsaR1, edE1}, want: "pass,pass"},
		{name: "simple/simple", conf: SignConfig{Canonicalization: "simple/simple"}, keys: []SigningKey{rsaR1}, want: "pass"},
		{name: "body changed", keys: []SigningKey{rsaR1, edE1}, change: bodyChanged, want: "fail,fail", reason: "body hash"},
		{name: "subject changed", keys: []SigningKey{rsaR1, edE1}, change: subjectChanged, want: "fail,fail", reason: "signature did not verify"},
		{name: "subject changed, simple", conf: SignConfig{Canonicalization: "simple/simple"}, keys: []SigningKey{rsaR1}, change: refolded, want: "fail"},
		{name: "refolded, relaxed", keys: []SigningKey{rsaR1}, change: refolded, want: "pass"},
		{name: "From added (oversigned)", conf: SignConfig{Oversign: DefaultOversignHeaders}, keys: []SigningKey{rsaR1}, change: fromAdded, want: "fail"},
		{name: "From added (not oversigned)", conf: SignConfig{}, keys: []SigningKey{rsaR1}, change: fromAdded, want: "fail"},
		{name: "Cc added (oversigned)", conf: SignConfig{Oversign: DefaultOversignHeaders}, keys: []SigningKey{rsaR1},
			change: func(m string) string { return "Cc: eve@evil.example\r\n" + m }, want: "fail"},
		{name: "Cc added (not oversigned)", conf: SignConfig{}, keys: []SigningKey{rsaR1},
			change: func(m string) string { return "Cc: eve@evil.example\r\n" + m }, want: "pass"},
		{name: "wrong key", keys: []SigningKey{with("wrong", rsaKey, "")}, want: "fail"},
		{name: "no record", keys: []SigningKey{with("missing", rsaKey, "")}, want: "permerror", reason: "no key"},
		{name: "revoked", keys: []SigningKey{with("revoked", rsaKey, "")}, want: "permerror", reason: "revoked"},
		{name: "dns down", keys: []SigningKey{with("down", rsaKey, "")}, want: "temperror"},
		{name: "test mode key", keys: []SigningKey{with("test", rsaKey, "")}, want: "pass", comment: "t=y"},
		{name: "t=s with i= in d=", keys: []SigningKey{with("strict", rsaKey, "alice@example.com")}, want: "pass"},
		{name: "t=s with i= in a subdomain", keys: []SigningKey{with("strict", rsaKey, "alice@mail.example.com")}, want: "permerror", reason: "t=s"},
		{name: "expired", conf: SignConfig{TTL: time.Nanosecond}, keys: []SigningKey{rsaR1}, want: "permerror", reason: "expired"},
		{name: "not expired", conf: SignConfig{TTL: time.Hour}, keys: []SigningKey{rsaR1}, want: "pass"},
	} {
		t.Run(c.name, func(t *testing.T) {
			fields := sign(t, testMessage, c.conf, c.keys...)
			if len(fields) != len(c.keys) {
				t.Fatalf("%d fields for %d keys", len(fields), len(c.keys))
			}
			msg := signed(fields, testMessage)
			if c.change != nil {
				msg = c.change(msg)
			}
			if c.conf.TTL == time.Nanosecond {
				time.Sleep(1100 * time.Millisecond) // x= is in whole seconds
			}
			rs := verifyAll(t, v, msg)
			if got := results(rs); got != c.want {
				t.Fatalf("results %s (%+v), want %s", got, rs, c.want)
			}
			if !strings.Contains(rs[0].Reason, c.reason) || !strings.Contains(rs[0].Comment, c.comment) {
				t.Errorf("reason %q comment %q, want %q and %q", rs[0].Reason, rs[0].Comment, c.reason, c.comment)
			}
			for i, r := range rs {
				k := c.keys[i]
				if r.Method != "dkim" || r.Prop("header", "d") != k.Domain || r.Prop("header", "s") != k.Selector ||
					r.Prop("header", "a") != k.algo()+"-sha256" || len(r.Prop("header", "b")) != 8 {
					t.Errorf("result %d: %+v", i, r)
				}
				if k.Identity != "" && r.Prop("header", "i") != k.Identity {
					t.Errorf("result %d: i= %q, want %q", i, r.Prop("header", "i"), k.Identity)
				}
			}
		})
	}
}

func (k SigningKey) algo() string {
	a, _ := algorithmOf(k.Signer)
	return a.KeyType()
}

func TestVerifyUnsignedAndPolicy(t *testing.T) {
	rsaKey, _ := keys(t)
	dns := dnstest.New(t, "")
	publish(t, dns, "r1", "example.com", rsaKey, "")
	v := NewVerifier(dns.Resolver(), nil, VerifyConfig{MaxSignatures: 2})
	if rs := verifyAll(t, v, testMessage); results(rs) != "none" || len(rs[0].Props) != 0 {
		t.Errorf("unsigned: %+v", rs)
	}
	// RFC 8301: rsa-sha1 is not accepted however it verifies: policy,
	// with the signature's properties. An l= signature is verified (here
	// its body hash is wrong).
	sha1 := "DKIM-Signature: v=1; a=rsa-sha1; c=relaxed/simple; d=example.com; s=r1; t=1796311226;\r\n" +
		"\tbh=qlkWrn/RWaGLG3LqkFx1cgfiZok=; h=From:To:Subject; b=B8AY1qcIvsOd/UHnEfCQxOMR56pw\r\n"
	lTag := "DKIM-Signature: v=1; a=rsa-sha256; l=10; d=example.com; s=r1; bh=AAAA; h=From; b=QUJDREVGR0hJSg==\r\n"
	broken := "DKIM-Signature: v=1; a=rsa-sha256; d=example.com; d=example.org; s=r1; bh=AAAA; h=From; b=QUJD\r\n"
	upper := SigningKey{Domain: "Example.COM", Selector: "r1", Signer: rsaKey}
	if rs := verifyAll(t, v, signed(sign(t, testMessage, SignConfig{}, upper), testMessage)); results(rs) != "pass" || rs[0].Prop("header", "d") != "example.com" {
		t.Errorf("d=Example.COM: %+v", rs)
	}
	rs := verifyAll(t, v, sha1+lTag+testMessage)
	if results(rs) != "policy,fail" || !strings.Contains(rs[0].Reason, "RFC 8301") || !strings.Contains(rs[1].Reason, "body hash") {
		t.Errorf("sha1, l=: %+v", rs)
	}
	if rs[0].Prop("header", "a") != "rsa-sha1" || rs[0].Prop("header", "b") != "B8AY1qcI" || rs[0].Prop("header", "d") != "example.com" {
		t.Errorf("sha1 properties: %+v", rs[0].Props)
	}
	// A tag list that does not parse is a permerror; signatures past the
	// cap are not verified (nor reported).
	fields := sign(t, testMessage, SignConfig{}, SigningKey{Domain: "example.com", Selector: "r1", Signer: rsaKey})
	rs = verifyAll(t, v, broken+signed(fields, testMessage+"")+"")
	if results(rs) != "permerror,pass" {
		t.Errorf("broken then good: %+v", rs)
	}
	rs = verifyAll(t, v, signed(fields, broken+sha1+testMessage))
	if results(rs) != "pass,permerror" {
		t.Errorf("capped at 2: %+v", rs)
	}
	// A header that never ends: nothing verifies, each signature says why.
	head, _, _ := strings.Cut(signed(fields, testMessage), "\r\n\r\n")
	rs = verifyAll(t, v, head+"\r\n")
	if results(rs) != "permerror" || !strings.Contains(rs[0].Reason, "header") {
		t.Errorf("header without its end: %+v", rs)
	}
}

func TestVerifyNoDNS(t *testing.T) {
	rsaKey, _ := keys(t)
	fields := sign(t, testMessage, SignConfig{}, SigningKey{Domain: "example.com", Selector: "r1", Signer: rsaKey})
	rs := verifyAll(t, NewVerifier(nil, nil, VerifyConfig{}), signed(fields, testMessage))
	if results(rs) != "temperror" {
		t.Errorf("without DNS: %+v", rs)
	}
}

func TestTXTCache(t *testing.T) {
	dns := dnstest.New(t, "")
	dns.TXT("a._domainkey.example.com", "v=DKIM1; p=AAAA")
	now := time.Unix(1e9, 0)
	c := NewTXTCache(2, func() time.Time { return now })
	r := dns.Resolver()
	ctx := context.Background()
	for range 3 {
		if txts, err := c.Lookup(ctx, r, "A._domainkey.example.com."); err != nil || len(txts) != 1 {
			t.Fatalf("lookup: %v %v", txts, err)
		}
		if _, err := c.Lookup(ctx, r, "b._domainkey.example.com"); err == nil {
			t.Fatal("a missing record was found")
		}
	}
	if n := dns.Queries("a._domainkey.example.com"); n != 1 {
		t.Errorf("%d queries for a cached name", n)
	}
	if n := dns.Queries("b._domainkey.example.com"); n != 1 {
		t.Errorf("%d queries for a cached negative answer", n)
	}
	now = now.Add(dnstest.TTL*time.Second + time.Second)
	c.Lookup(ctx, r, "a._domainkey.example.com")
	if n := dns.Queries("a._domainkey.example.com"); n != 2 {
		t.Errorf("%d queries after the TTL, want 2", n)
	}
	dns.ServFail("c._domainkey.example.com", true)
	for range 2 {
		c.Lookup(ctx, r, "c._domainkey.example.com")
	}
	if n := dns.Queries("c._domainkey.example.com"); n < 2 {
		t.Errorf("a temporary failure was cached (%d queries)", n)
	}
	c.Lookup(ctx, r, "d._domainkey.example.com")
	if len(c.m) > 2 {
		t.Errorf("cache holds %d names, bound 2", len(c.m))
	}
}
