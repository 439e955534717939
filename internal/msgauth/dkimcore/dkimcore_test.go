package dkimcore

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"testing"
)

func TestCanonBody(t *testing.T) {
	for _, c := range []struct{ in, simple, relaxed string }{
		{"", "\r\n", ""},
		{"\r\n\r\n", "\r\n", ""},
		{"a  b \t\r\n\r\n", "a  b \t\r\n", "a b\r\n"},
		{" x\n\ny", " x\r\n\r\ny\r\n", " x\r\n\r\ny\r\n"},
		{"a\rb\r", "a\rb\r\r\n", "a\rb\r\r\n"},
		{"a \r\n \r\n", "a \r\n \r\n", "a\r\n"},
	} {
		for _, alg := range []string{Simple, Relaxed} {
			want := c.simple
			if alg == Relaxed {
				want = c.relaxed
			}
			// Byte by byte and at once give the same.
			for _, step := range []int{1, len(c.in) + 1} {
				var out bytes.Buffer
				bc := NewBodyCanon(&out, alg, -1)
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
	var out bytes.Buffer
	bc := NewBodyCanon(&out, Relaxed, 3)
	bc.Write([]byte("abcdef\r\n"))
	bc.Close()
	if out.String() != "abc" {
		t.Errorf("l=3: %q", out.String())
	}
}

func TestCanonHeader(t *testing.T) {
	in := "SubJect \t:  A  b\r\n\t c \r\n"
	if got := string(CanonHeader(Relaxed, []byte(in))); got != "subject:A b c\r\n" {
		t.Errorf("relaxed %q", got)
	}
	if got := string(CanonHeader(Simple, []byte("Subject: x\n y\n"))); got != "Subject: x\r\n y\r\n" {
		t.Errorf("simple %q", got)
	}
	if got := string(RemoveB([]byte("ARC-Seal: i=1; b=abc\r\n def; bh=x; d=y\r\n"))); got != "ARC-Seal: i=1; b=; bh=x; d=y\r\n" {
		t.Errorf("RemoveB %q", got)
	}
	if got := string(RemoveB([]byte("X: a=1; b= abc \r\n\tdef \r\n"))); got != "X: a=1; b=\r\n" {
		t.Errorf("RemoveB last %q", got)
	}
}

func FuzzParseKey(f *testing.F) {
	k, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		f.Fatal(err)
	}
	der, _ := x509.MarshalPKIXPublicKey(&k.PublicKey)
	f.Add("v=DKIM1; k=rsa; t=y:s; p="+base64.StdEncoding.EncodeToString(der), "rsa")
	f.Add("v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=", "ed25519")
	f.Add("v=DKIM1; p=", "rsa")
	f.Fuzz(func(t *testing.T, txt, typ string) {
		k, err := ParseKey(txt, typ)
		if err == nil && k.Type != typ {
			t.Fatalf("key of type %s for %s", k.Type, typ)
		}
	})
}
