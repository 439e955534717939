package dkim

import (
	"context"
	"strings"
	"testing"
)

func FuzzParseTags(f *testing.F) {
	for _, s := range []string{
		"v=1; a=rsa-sha256; d=example.com; s=s1; h=From:To; bh=AAAA; b=BB BB",
		"v=DKIM1; k=ed25519; p=XJlQwZlsxSn5jr6PFu8u93kzoZDRkSt5LuLAsW7snlU=",
		"a=;b", "=x", "t=y:s;", "v=1;v=2", ";;;", "a = b ;\r\n\tc=d",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tags, err := ParseTags(s)
		if err != nil {
			return
		}
		for k, v := range tags {
			if k == "" || strings.ContainsAny(v, " \t\r\n") || strings.Contains(k, "=") {
				t.Fatalf("tag %q=%q from %q", k, v, s)
			}
		}
		tags.Flags()
	})
}

func FuzzParseRefile(f *testing.F) {
	f.Add("*@example.com key1\n# c\nboss@* key2 boss@example.com\n", "boss@example.com")
	f.Add("*a*b*\tk\n", "xaybz")
	f.Add("no-value\n", "x")
	f.Fuzz(func(t *testing.T, table, addr string) {
		r, err := ParseRefile([]byte(table))
		if err != nil {
			return
		}
		v, ok, err := r.Lookup(context.Background(), addr)
		if err != nil || ok != (v != "") {
			t.Fatalf("lookup %q: %q %v %v", addr, v, ok, err)
		}
		// A pattern of the address itself always matches.
		r2, err := ParseRefile([]byte(strings.ReplaceAll(strings.ToLower(addr), "*", "") + " k\n"))
		if err != nil || strings.ContainsAny(addr, " \t\r\n#\v\f\u0085\u00a0") || strings.TrimSpace(addr) == "" {
			return
		}
		if !strings.Contains(addr, "*") {
			if _, ok, _ := r2.Lookup(context.Background(), addr); !ok {
				t.Fatalf("%q does not match itself", addr)
			}
		}
	})
}

func FuzzParseKeyTableValue(f *testing.F) {
	for _, s := range []string{"example.com:sel:/etc/k", "%:s", "a:b:c:d", ":", "example.com"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e, err := ParseKeyTableValue(s)
		if err != nil {
			return
		}
		if CheckSelector(e.Selector) != nil || e.Domain == "" {
			t.Fatalf("%q: %+v", s, e)
		}
	})
}

// FuzzVerify feeds arbitrary messages to the verifier (no DNS: every key
// lookup fails temporarily): it must return a result per signature
// verified or an error, never panic or hang.
func FuzzVerify(f *testing.F) {
	f.Add(testMessage)
	f.Add("DKIM-Signature: v=1; a=rsa-sha256; d=example.com; s=s; h=From; bh=AAAA; b=AAAA\r\n" + testMessage)
	f.Add("DKIM-Signature: v=1; a=rsa-sha1; l=5; x=1; d=example.com; s=s; h=From; bh=AAAA; b=AAAA\r\n\r\n")
	f.Add("dkim-signature:;;\r\n")
	// l= signatures, which Mailwarden verifies itself.
	f.Add("DKIM-Signature: v=1; a=rsa-sha256; l=10; d=example.com; s=r1; bh=AAAA; h=From; b=QUJD\r\nFrom: a@example.com\r\n\r\nbody\r\n")
	f.Add("DKIM-Signature: v=1; a=ed25519-sha256; c=relaxed/relaxed; l=0; d=example.com; s=e; bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=; h=from:from; b=\r\nFrom: x\r\n\r\n")
	f.Add("DKIM-Signature: v=1; a=rsa-sha256; l=99999999999999999999999; d=x; s=y; bh=; h=From; b=\r\n\r\n")
	f.Add("DKIM-Signature: l=5; l=6\r\nDKIM-Signature: v=1; a=rsa-sha256; l=3; c=simple/relaxed; i=@sub.x; d=x; s=y; bh=AA==; h=To; b=AA==\r\n\r\n \t \r\n\r\n")
	v := NewVerifier(nil, nil, VerifyConfig{MaxSignatures: 3})
	f.Fuzz(func(t *testing.T, msg string) {
		rs, err := v.Verify(context.Background(), strings.NewReader(msg))
		if err != nil {
			return
		}
		if len(rs) == 0 || len(rs) > 3 {
			t.Fatalf("%d results", len(rs))
		}
		for _, r := range rs {
			if r.Method != "dkim" || r.Result == "pass" {
				t.Fatalf("result %+v without DNS", r)
			}
		}
	})
}
