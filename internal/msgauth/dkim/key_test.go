package dkim

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"strings"
	"testing"
	"time"
)

func TestNormalizeDomain(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"Example.COM", "example.com"},
		{"example.com.", "example.com"},
		{" mail.example.org ", "mail.example.org"},
		{"bücher.example", "xn--bcher-kva.example"},
		{"localhost", ""},
		{"exa mple.com", ""},
		{"-bad.example", ""},
		{"a..b", ""},
		{"under_score.example", ""},
		{"", ""},
	} {
		got, err := NormalizeDomain(c.in)
		if c.want == "" {
			if err == nil {
				t.Errorf("NormalizeDomain(%q) = %q, want an error", c.in, got)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("NormalizeDomain(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
}

func TestCheckSelector(t *testing.T) {
	for _, c := range []struct {
		in string
		ok bool
	}{
		{"mw202612r", true}, {"s1.2026", true}, {"a-b", true},
		{"", false}, {"a b", false}, {"a;b", false}, {"-a", false}, {strings.Repeat("a", 64), false}, {"a=b", false},
	} {
		if err := CheckSelector(c.in); (err == nil) != c.ok {
			t.Errorf("CheckSelector(%q) = %v, want ok=%v", c.in, err, c.ok)
		}
	}
}

func TestDefaultSelector(t *testing.T) {
	now := time.Date(2026, 12, 3, 23, 0, 0, 0, time.FixedZone("x", -5*3600)) // 2026-12-04 UTC
	taken := map[string]bool{}
	isTaken := func(s string) bool { return taken[s] }
	for _, c := range []struct {
		a    Algorithm
		want string
	}{
		{RSA2048, "mw202612r"}, {RSA2048, "mw202612r2"}, {RSA3072, "mw202612r3"}, {Ed25519, "mw202612e"}, {Ed25519, "mw202612e2"},
	} {
		got := DefaultSelector(c.a, now, isTaken)
		if got != c.want {
			t.Errorf("DefaultSelector(%s) = %q, want %q", c.a, got, c.want)
		}
		taken[got] = true
		if err := CheckSelector(got); err != nil {
			t.Error(err)
		}
	}
}

func TestZoneLines(t *testing.T) {
	rsaKey, edKey := keys(t)
	rsa3072, err := RSA3072.Generate()
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []struct {
		a      Algorithm
		signer interface{ Public() crypto.PublicKey }
		chunks int
	}{{RSA2048, rsaKey, 2}, {RSA3072, rsa3072, 3}, {Ed25519, edKey, 1}} {
		p, err := PublicValue(k.signer.(crypto.Signer))
		if err != nil {
			t.Fatal(err)
		}
		value := Record(k.a, p)
		if !strings.HasPrefix(value, "v=DKIM1; k="+k.a.KeyType()+"; p=") {
			t.Errorf("%s: record %q", k.a, value)
		}
		name := RecordName("sel", "example.com")
		if name != "sel._domainkey.example.com." {
			t.Errorf("RecordName = %q", name)
		}
		z := ZoneLines(name, value)
		if !strings.HasPrefix(z, name+"\tIN\tTXT\t( \"") || !strings.HasSuffix(z, "\" )") {
			t.Errorf("%s: zone lines %q", k.a, z)
		}
		// The quoted strings: each at most 255 bytes, together the value.
		var joined string
		var n int
		for _, part := range strings.Split(z, `"`)[1:] {
			if n%2 == 0 {
				if len(part) > 255 {
					t.Errorf("%s: a string of %d bytes", k.a, len(part))
				}
				joined += part
			}
			n++
		}
		if joined != value || n/2 != k.chunks {
			t.Errorf("%s: %d strings joined to %q, want %d joining to %q", k.a, n/2, joined, k.chunks, value)
		}
	}
}

func TestParsePrivateKey(t *testing.T) {
	rsaKey, edKey := keys(t)
	pkcs8, err := EncodePrivateKey(rsaKey)
	if err != nil {
		t.Fatal(err)
	}
	edPEM, err := EncodePrivateKey(edKey)
	if err != nil {
		t.Fatal(err)
	}
	pkcs1 := string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(rsaKey.(*rsa.PrivateKey))}))
	seed := base64.StdEncoding.EncodeToString(edKey.(ed25519.PrivateKey).Seed())
	full := base64.StdEncoding.EncodeToString(edKey.(ed25519.PrivateKey))
	for _, c := range []struct {
		name, in string
		want     crypto.PublicKey
	}{
		{"pkcs8 rsa", pkcs8, rsaKey.Public()},
		{"pkcs1 rsa", pkcs1, rsaKey.Public()},
		{"pkcs8 ed25519", edPEM, edKey.Public()},
		{"ed25519 seed", seed + "\n", edKey.Public()},
		{"ed25519 key", full, edKey.Public()},
		{"garbage", "not a key", nil},
		{"short base64", base64.StdEncoding.EncodeToString([]byte("abc")), nil},
		{"certificate", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", nil},
	} {
		k, err := ParsePrivateKey([]byte(c.in))
		if c.want == nil {
			if err == nil {
				t.Errorf("%s: parsed, want an error", c.name)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if !k.Public().(interface{ Equal(crypto.PublicKey) bool }).Equal(c.want) {
			t.Errorf("%s: another key", c.name)
		}
	}
}

func TestParseAlgorithm(t *testing.T) {
	for _, in := range []string{"rsa2048", "RSA3072", "ed25519"} {
		if _, err := ParseAlgorithm(in); err != nil {
			t.Error(err)
		}
	}
	for _, in := range []string{"", "rsa1024", "rsa", "dsa"} {
		if _, err := ParseAlgorithm(in); err == nil {
			t.Errorf("ParseAlgorithm(%q) accepted", in)
		}
	}
}
