package domainkeys

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"strings"
	"sync"
	"testing"

	"mailwarden/internal/dnsx"
)

var (
	keyOnce sync.Once
	testKey *rsa.PrivateKey
)

func rsaKey() *rsa.PrivateKey {
	keyOnce.Do(func() {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		testKey = k
	})
	return testKey
}

func record(extra string) string {
	der, _ := x509.MarshalPKIXPublicKey(&rsaKey().PublicKey)
	return extra + "k=rsa; p=" + base64.StdEncoding.EncodeToString(der)
}

type zone map[string]string

func (z zone) lookup(_ context.Context, name string) ([]string, error) {
	v, ok := z[strings.ToLower(name)]
	switch {
	case !ok:
		return nil, fmt.Errorf("%s: %w", name, dnsx.ErrNotFound)
	case v == "TEMP":
		return nil, fmt.Errorf("%s: %w", name, dnsx.ErrTemporary)
	}
	return []string{v}, nil
}

const testMsg = "Received: from x by y; Thu, 3 Dec 2026 10:00:00 +0000\r\n" +
	"From: Alice <alice@a.example>\r\n" +
	"To: bob@b.example\r\n" +
	"Subject:  hello\r\n\tthere\r\n" +
	"Date: Thu, 3 Dec 2026 10:00:00 +0000\r\n" +
	"Message-ID: <1@a.example>\r\n" +
	"\r\n" +
	"Hello  Bob,\r\n" +
	"\r\n" +
	"see you.\r\n\r\n\r\n"

func sign(t *testing.T, msg, canon, domain string) string {
	t.Helper()
	f, err := (&Signer{Domains: []string{domain}, Selector: "dk", Key: rsaKey(), Canon: canon}).Sign(strings.NewReader(msg))
	if err != nil {
		t.Fatal(err)
	}
	return f + "\r\n" + msg
}

func verify1(t *testing.T, z zone, msg string) Result {
	t.Helper()
	rs, err := (&Verifier{Lookup: z.lookup}).Verify(context.Background(), strings.NewReader(msg))
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 1 {
		t.Fatalf("%d results: %+v", len(rs), rs)
	}
	return rs[0]
}

func TestSignVerify(t *testing.T) {
	z := zone{"dk._domainkey.a.example": record("g=; ")}
	for _, canon := range []string{Simple, NoFWS} {
		signed := sign(t, testMsg, canon, "a.example")
		if !strings.Contains(signed, "c="+canon+";") || !strings.Contains(signed, "h=From:To:Subject:Date:Message-ID;") {
			t.Fatalf("%s signature:\n%s", canon, signed)
		}
		r := verify1(t, z, signed)
		if r.Status != "pass" || r.Domain != "a.example" || r.Sender != "alice@a.example" || r.SenderHeader != "from" {
			t.Fatalf("%s: %+v", canon, r)
		}
		// Fields added above the signature, trailing empty lines and
		// fields not in h= do not matter.
		r = verify1(t, z, "Received: by z\r\n"+strings.Replace(signed, "see you.\r\n", "see you.\r\n\r\n\r\n", 1)+"")
		if r.Status != "pass" {
			t.Fatalf("%s with a trace field: %+v", canon, r)
		}
		r = verify1(t, z, strings.Replace(signed, "Received: from x", "X-Extra: 1\r\nReceived: from x", 1))
		if r.Status != "pass" {
			t.Fatalf("%s with a field outside h=: %+v", canon, r)
		}
		ws := verify1(t, z, strings.Replace(signed, "Hello  Bob", "Hello Bob", 1))
		if want := map[string]string{Simple: "fail", NoFWS: "pass"}[canon]; ws.Status != want {
			t.Fatalf("%s, whitespace changed: %+v, want %s", canon, ws, want)
		}
		if r := verify1(t, z, strings.Replace(signed, "see you.", "see you!", 1)); r.Status != "fail" {
			t.Fatalf("%s, body changed: %+v", canon, r)
		}
		if r := verify1(t, z, strings.Replace(signed, "hello", "hullo", 1)); r.Status != "fail" {
			t.Fatalf("%s, subject changed: %+v", canon, r)
		}
	}
	signed := sign(t, testMsg, NoFWS, "a.example")
	withSender := sign(t, strings.Replace(testMsg, "To:", "Sender: list@lists.a.example\r\nTo:", 1), NoFWS, "a.example")
	for _, c := range []struct {
		name, msg string
		z         zone
		want      string
		reason    string
	}{
		{"sender in a subdomain", withSender, z, "pass", ""},
		{"no key", signed, zone{}, "permerror", "no usable key"},
		{"temp", signed, zone{"dk._domainkey.a.example": "TEMP"}, "temperror", "temporarily"},
		{"revoked", signed, zone{"dk._domainkey.a.example": "p="}, "permerror", "revoked"},
		{"short key", signed, zone{"dk._domainkey.a.example": "p=MFwwDQYJKoZIhvcNAQEBBQADSwAwSAJBAK1Yc3iJ1zV+ZgkOw6X4ZKNKzoMp2k35b8JZ2kDGmiVfMbe0bLjX1u3aN6yBrjCEjHeQvQTfwC8HQnQVHt39x/kCAwEAAQ=="}, "permerror", "512 bits"},
		{"granularity", signed, zone{"dk._domainkey.a.example": record("g=bob; ")}, "neutral", "granularity"},
		{"granularity wildcard", signed, zone{"dk._domainkey.a.example": record("g=al*; ")}, "pass", ""},
		{"other sender domain", strings.Replace(signed, "alice@a.example>", "alice@evil.example>", 1), z, "neutral", "not in d="},
		{"no from", strings.Replace(signed, "From: Alice <alice@a.example>\r\n", "", 1), z, "permerror", "no Sender or From"},
		{"bad algorithm", strings.Replace(signed, "a=rsa-sha1", "a=rsa-sha256", 1), z, "neutral", "algorithm"},
		{"bad canon", strings.Replace(signed, "c=nofws", "c=relaxed", 1), z, "neutral", "canonicalization"},
		{"syntax", strings.Replace(signed, "q=dns;", "q=dns;;", 1), z, "neutral", "syntax"},
	} {
		r := verify1(t, c.z, c.msg)
		if r.Status != c.want || !strings.Contains(r.Reason, c.reason) {
			t.Errorf("%s: %s (%s), want %s (%s)", c.name, r.Status, r.Reason, c.want, c.reason)
		}
	}
	if rs, _ := (&Verifier{Lookup: z.lookup}).Verify(context.Background(), strings.NewReader(testMsg)); len(rs) != 0 {
		t.Fatalf("unsigned: %+v", rs)
	}
	if _, err := (&Signer{Domains: []string{"b.example"}, Selector: "dk", Key: rsaKey()}).Sign(strings.NewReader(testMsg)); err == nil {
		t.Fatal("signed for another domain than the sender's")
	}
}

func TestCanonBody(t *testing.T) {
	for _, c := range []struct{ in, simple, nofws string }{
		{"", "", ""},
		{"\r\n\r\n", "", ""},
		{"a b\r\n\r\n", "\r\na b\r\n", "\r\nab\r\n"},
		{"\r\nx", "\r\n\r\nx", "\r\n\r\nx"},
		{"x\r\n  \r\n", "\r\nx\r\n  \r\n", "\r\nx\r\n"},
		{"a\nb\rc", "\r\na\r\nb\rc", "\r\nabc"},
	} {
		for _, alg := range []string{Simple, NoFWS} {
			want := map[string]string{Simple: c.simple, NoFWS: c.nofws}[alg]
			for _, step := range []int{1, len(c.in) + 1} {
				var out bytes.Buffer
				bc := newBodyCanon(&out, alg)
				for i := 0; i < len(c.in); i += step {
					bc.Write([]byte(c.in[i:min(i+step, len(c.in))]))
				}
				bc.Close()
				if out.String() != want {
					t.Errorf("%s(%q) step %d = %q, want %q", alg, c.in, step, out.String(), want)
				}
			}
		}
	}
	if got := string(canonHeader(NoFWS, []byte("Subject: a b\r\n\tc\r\n"))); got != "Subject:abc\r\n" {
		t.Errorf("nofws header %q", got)
	}
	if got := string(canonHeader(Simple, []byte("Subject: a\n b\n"))); got != "Subject: a\r\n b\r\n" {
		t.Errorf("simple header %q", got)
	}
}

func FuzzVerify(f *testing.F) {
	z := zone{"dk._domainkey.a.example": record("")}
	s, err := (&Signer{Domains: []string{"a.example"}, Selector: "dk", Key: rsaKey()}).Sign(strings.NewReader(testMsg))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(s + "\r\n" + testMsg)
	f.Add("DomainKey-Signature: a=rsa-sha1; d=a.example; s=dk; b=YQ==\r\nFrom: a@a.example\r\n\r\nx")
	f.Fuzz(func(t *testing.T, msg string) {
		rs, err := (&Verifier{Lookup: z.lookup}).Verify(context.Background(), strings.NewReader(msg))
		if err != nil {
			return
		}
		if len(rs) > MaxSignatures {
			t.Fatalf("%d results", len(rs))
		}
		for _, r := range rs {
			switch r.Status {
			case "pass", "fail", "neutral", "permerror", "temperror":
			default:
				t.Fatalf("status %q", r.Status)
			}
		}
	})
}

func FuzzParseKey(f *testing.F) {
	f.Add(record("g=*; t=y; "))
	f.Add("p=")
	f.Fuzz(func(t *testing.T, txt string) {
		if k, err := parseKey(txt); err == nil && k.pub == nil {
			t.Fatal("key without public key")
		}
	})
}
