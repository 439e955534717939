package password

import (
	"bytes"
	"crypto/hmac"
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
)

func TestDoveadmSCRAM(t *testing.T) {
	doveadm := needTool(t, "doveadm", "dovecot-core")
	for _, scheme := range []string{"SCRAM-SHA-256", "SCRAM-SHA-1"} {
		t.Run(scheme, func(t *testing.T) {
			for _, pw := range testPasswords {
				stored := run(t, doveadm, "pw", "-s", scheme, "-p", pw)
				checkStored(t, stored, pw, scheme)
				if NeedsRehash(stored) != true {
					t.Errorf("NeedsRehash(%q) = false", stored)
				}
				k, ok, err := SCRAMSHA256Keys(stored)
				if scheme == "SCRAM-SHA-1" {
					if ok || err != nil {
						t.Errorf("SCRAMSHA256Keys(%q) = %v, %v for SHA-1", stored, ok, err)
					}
					continue
				}
				if !ok || err != nil || k.String() != stored {
					t.Fatalf("SCRAMSHA256Keys(%q) = %+v, %v, %v", stored, k, ok, err)
				}
				// What we derive from the password and Dovecot's salt is
				// what Dovecot stored.
				again, err := DeriveSCRAMKeys(pw, k.Salt, k.Iterations)
				if err != nil || again.String() != stored {
					t.Errorf("DeriveSCRAMKeys = %s, %v; want %s", again, err, stored)
				}
			}
		})
	}
}

// TestGsaslSCRAM checks NewSCRAMKeys against GNU SASL's own derivation
// (gsasl --mkpasswd, with our salt and iteration count).
func TestGsaslSCRAM(t *testing.T) {
	gsasl := needTool(t, "gsasl", "gsasl")
	for _, pw := range testPasswords[:3] {
		k, err := NewSCRAMKeys(pw, 4096)
		if err != nil {
			t.Fatal(err)
		}
		out := run(t, gsasl, "--mkpasswd", "--mechanism", "SCRAM-SHA-256", "--password", pw,
			"--iteration-count", "4096", "--salt", base64.StdEncoding.EncodeToString(k.Salt))
		if out != k.String() {
			t.Errorf("gsasl: %s\nours:  %s", out, k)
		}
		checkStored(t, k.String(), pw, "SCRAM-SHA-256")
	}
}

func TestSCRAMMalformed(t *testing.T) {
	saved := limits
	limits.scramIterations = 100_000
	t.Cleanup(func() { limits = saved })
	key := base64.StdEncoding.EncodeToString(make([]byte, 32))
	for _, stored := range []string{
		"{SCRAM-SHA-256}",
		"{SCRAM-SHA-256}4096,c2FsdA==," + key,
		"{SCRAM-SHA-256}x,c2FsdA==," + key + "," + key,
		"{SCRAM-SHA-256}0,c2FsdA==," + key + "," + key,
		"{SCRAM-SHA-256}200000,c2FsdA==," + key + "," + key,
		"{SCRAM-SHA-256}4096,,," + key,
		"{SCRAM-SHA-256}4096,c2FsdA==,AAAA," + key,
		"{SCRAM-SHA-256.b64}4096,c2FsdA==," + key + "," + key,
		"{SCRAM-SHA-1}4096,c2FsdA==," + key + "," + key,
	} {
		ok, err := Verify(stored, "secret")
		if ok || !errors.Is(err, ErrMalformed) {
			t.Errorf("Verify(%q) = %v, %v; want ErrMalformed", stored, ok, err)
		}
	}
}

func TestNewSCRAMKeys(t *testing.T) {
	a, err := NewSCRAMKeys("secret", 4096)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := NewSCRAMKeys("secret", 4096)
	if len(a.Salt) != 16 || bytes.Equal(a.Salt, b.Salt) || a.Iterations != 4096 {
		t.Fatalf("keys %+v and %+v", a, b)
	}
	if _, err := NewSCRAMKeys("secret", 0); err == nil {
		t.Error("0 iterations accepted")
	}
	// SASLprep maps a non-ASCII space to a space (RFC 4013 2.1).
	c, _ := NewSCRAMKeys("pass\u00a0word", 4096)
	d, _ := DeriveSCRAMKeys("pass word", c.Salt, 4096)
	if !bytes.Equal(c.StoredKey, d.StoredKey) {
		t.Error("password not SASLprep'd")
	}
	if ok, err := Verify(c.String(), "pass\u00a0word"); !ok || err != nil {
		t.Errorf("Verify of the unprepared password: %v, %v", ok, err)
	}
}

func TestCRAMMD5(t *testing.T) {
	// RFC 2195 2: tim / tanstaaftanstaaf.
	challenge := []byte("<1896.697170952@postoffice.reston.mci.net>")
	const want = "b913a602c7eda7a495b4e6e7334d3890"
	ctx, err := cramMD5Context("tanstaaftanstaaf")
	if err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("0123456789", 10)
	longWant := hmac.New(md5.New, []byte(long))
	longWant.Write(challenge)
	longCtx, _ := cramMD5Context(long)
	for _, tc := range []struct {
		stored, want string
		err          error
	}{
		{"{CRAM-MD5}" + hex.EncodeToString(ctx), want, nil},
		{"{HMAC-MD5}" + hex.EncodeToString(ctx), want, nil},
		{"{CRAM-MD5.b64}" + base64.StdEncoding.EncodeToString(ctx), want, nil},
		{"{CRAM-MD5}" + hex.EncodeToString(longCtx), hex.EncodeToString(longWant.Sum(nil)), nil},
		{"{PLAIN}tanstaaftanstaaf", want, nil},
		{"{CLEARTEXT}tanstaaftanstaaf", want, nil},
		{"{PLAIN.b64}" + base64.StdEncoding.EncodeToString([]byte("tanstaaftanstaaf")), want, nil},
		{"{SSHA512}AAAA", "", ErrNoCRAMMD5},
		{"$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2g", "", ErrNoCRAMMD5},
		{"{CRAM-MD5}abcd", "", ErrMalformed},
		{"{NOPE}x", "", ErrUnknownScheme},
	} {
		got, err := CRAMMD5(tc.stored, challenge)
		if tc.err != nil {
			if !errors.Is(err, tc.err) || CanCRAMMD5(tc.stored) && tc.err == ErrNoCRAMMD5 {
				t.Errorf("CRAMMD5(%q): %v, want %v", tc.stored, err, tc.err)
			}
			continue
		}
		if err != nil || hex.EncodeToString(got) != tc.want || !CanCRAMMD5(tc.stored) {
			t.Errorf("CRAMMD5(%q) = %x, %v; want %s", tc.stored, got, err, tc.want)
		}
	}
}

// TestDoveadmCRAMMD5 answers a challenge with the context doveadm stores.
func TestDoveadmCRAMMD5(t *testing.T) {
	doveadm := needTool(t, "doveadm", "dovecot-core")
	challenge := []byte("<12345.1700000000@mx.example>")
	for _, pw := range testPasswords {
		stored := run(t, doveadm, "pw", "-s", "CRAM-MD5", "-p", pw)
		got, err := CRAMMD5(stored, challenge)
		m := hmac.New(md5.New, []byte(pw))
		m.Write(challenge)
		if err != nil || !bytes.Equal(got, m.Sum(nil)) {
			t.Errorf("CRAMMD5(%q) = %x, %v; want %x", stored, got, err, m.Sum(nil))
		}
	}
}
