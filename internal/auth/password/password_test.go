package password

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha512"
	"encoding"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"hash"
	"strings"
	"testing"
)

func TestHashRoundTrip(t *testing.T) {
	seen := map[string]bool{}
	for _, pw := range append([]string{""}, testPasswords...) {
		stored, err := Hash(pw)
		if err != nil {
			t.Fatalf("Hash(%q): %v", pw, err)
		}
		if !strings.HasPrefix(stored, "{ARGON2ID}$argon2id$v=19$m=19456,t=2,p=1$") {
			t.Errorf("Hash(%q) = %q, want Dovecot's {ARGON2ID} form with m=19456,t=2,p=1", pw, stored)
		}
		if seen[stored] {
			t.Errorf("Hash(%q) repeated %q: salt not random", pw, stored)
		}
		seen[stored] = true
		if got := Scheme(stored); got != "ARGON2ID" {
			t.Errorf("Scheme(%q) = %q", stored, got)
		}
		if NeedsRehash(stored) {
			t.Errorf("NeedsRehash(fresh %q) = true", stored)
		}
		if ok, err := Verify(stored, pw); !ok || err != nil {
			t.Errorf("Verify(Hash(%q)) = %v, %v", pw, ok, err)
		}
		if ok, err := Verify(stored, pw+"x"); ok || err != nil {
			t.Errorf("Verify(Hash(%q), wrong) = %v, %v", pw, ok, err)
		}
	}
}

func TestVerifyRejectsGarbage(t *testing.T) {
	tests := []struct {
		stored string
		want   error
	}{
		{"", ErrUnknownScheme},
		{"secret", ErrUnknownScheme},
		{"{", ErrUnknownScheme},
		{"{NOPE}abc", ErrUnknownScheme},
		{"{SSHA512.zip}abc", ErrUnknownScheme},
		{"{CRYPT}abJnggxhB/yWI", ErrUnknownScheme}, // DES crypt
		{"$2x$05$abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQ", ErrUnknownScheme},
		{"$argon2id$v=16$m=4096,t=3,p=1$c2FsdHNhbHQ$aGFzaGhhc2g", ErrUnknownScheme},
		{"{SHA512-CRYPT}garbage", ErrMalformed},
		{"{SHA512-CRYPT}$5$salt$abc", ErrMalformed},
		{"{SHA512-CRYPT.b64}$6$salt$abc", ErrMalformed},
		{"$6$salt$tooshort", ErrMalformed},
		{"$6$rounds=10$salt$" + strings.Repeat("a", 86), ErrMalformed},
		{"$6$rounds=05000$salt$" + strings.Repeat("a", 86), ErrMalformed},
		{"$6$rounds=999999999$salt$" + strings.Repeat("a", 86), ErrMalformed}, // over limit
		{"$6$saltsaltsaltsalt1$" + strings.Repeat("a", 86), ErrMalformed},     // salt > 16
		{"$5$salt$" + strings.Repeat("!", 43), ErrMalformed},
		{"$1$salt$short", ErrMalformed},
		{"$2y$05$short", ErrMalformed},
		{"$2y$31$" + strings.Repeat("a", 53), ErrMalformed}, // over limit
		{"$2y$03$" + strings.Repeat("a", 53), ErrMalformed},
		{"$argon2id$v=19$m=65536,t=3$c2FsdHNhbHQ$aGFzaGhhc2g", ErrMalformed},
		{"$argon2id$v=19$t=3,m=65536,p=1$c2FsdHNhbHQ$aGFzaGhhc2g", ErrMalformed},
		{"$argon2id$v=19$m=4294967295,t=3,p=1$c2FsdHNhbHQ$aGFzaGhhc2g", ErrMalformed},
		{"$argon2id$v=19$m=65536,t=0,p=1$c2FsdHNhbHQ$aGFzaGhhc2g", ErrMalformed},
		{"$argon2id$v=19$m=65536,t=1,p=0$c2FsdHNhbHQ$aGFzaGhhc2g", ErrMalformed},
		{"$argon2id$v=19$m=65536,t=1,p=1$!!!$aGFzaGhhc2g", ErrMalformed},
		{"{SSHA512}", ErrMalformed},
		{"{SSHA}not*base64", ErrMalformed},
		{"{SSHA}" + base64.StdEncoding.EncodeToString(make([]byte, 20)), ErrMalformed}, // no salt
		{"{SHA256}AAAA", ErrMalformed},
		{"{PLAIN-MD5}zz", ErrMalformed},
		{"{PLAIN-MD5.hex}5ebe2294ecd0e0f08eab7690d2a6ee6", ErrMalformed},
		{"{CRAM-MD5}" + strings.Repeat("g", 64), ErrMalformed},
		{"{CRAM-MD5}abcd", ErrMalformed},
		{"{PLAIN.hex}xyz", ErrMalformed},
	}
	for _, tt := range tests {
		ok, err := Verify(tt.stored, "secret")
		if ok || !errors.Is(err, tt.want) {
			t.Errorf("Verify(%q) = %v, %v; want false, %v", tt.stored, ok, err, tt.want)
		}
		if err != nil && strings.Contains(err.Error(), "secret") {
			t.Errorf("Verify(%q) error %q leaks the password", tt.stored, err)
		}
	}
}

func TestScheme(t *testing.T) {
	tests := map[string]string{
		"":                            "",
		"plaintext":                   "",
		"{FOO}bar":                    "",
		"{PLAIN}x":                    "PLAIN",
		"{cleartext}x":                "PLAIN",
		"{SSHA512.b64}x":              "SSHA512",
		"{sha}x":                      "SHA1",
		"{PLAIN-MD5.HEX}x":            "PLAIN-MD5",
		"{MD5}$1$salt$x":              "MD5-CRYPT",
		"{MD5}5ebe2294ecd0e0f08eab76": "PLAIN-MD5",
		"{CRYPT}$5$x":                 "SHA256-CRYPT",
		"{CRYPT}abJnggxhB/yWI":        "CRYPT",
		"$argon2i$x":                  "ARGON2I",
		"$argon2id$x":                 "ARGON2ID",
		"$2b$x":                       "BLF-CRYPT",
		"$2x$x":                       "",
		"$6$x":                        "SHA512-CRYPT",
		"$1$x":                        "MD5-CRYPT",
	}
	for stored, want := range tests {
		if got := Scheme(stored); got != want {
			t.Errorf("Scheme(%q) = %q, want %q", stored, got, want)
		}
	}
}

func TestNeedsRehash(t *testing.T) {
	fresh, err := Hash("pw")
	if err != nil {
		t.Fatal(err)
	}
	salt := base64.RawStdEncoding.EncodeToString(make([]byte, 16))
	key := base64.RawStdEncoding.EncodeToString(make([]byte, 32))
	tests := map[string]bool{
		fresh: false,
		"{ARGON2ID}$argon2id$v=19$m=65536,t=3,p=1$" + salt + "$" + key: false,
		"$argon2id$v=19$m=65536,t=1,p=1$" + salt + "$" + key:           true,
		"$argon2id$v=19$m=4096,t=3,p=1$" + salt + "$" + key:            true,
		"$argon2i$v=19$m=65536,t=3,p=1$" + salt + "$" + key:            true,
		"{BLF-CRYPT}$2y$10$x":  true,
		"$6$salt$x":            true,
		"{SSHA512}x":           true,
		"{PLAIN}secret":        true,
		"{CLEARTEXT}secret":    true,
		"{CRAM-MD5}x":          true,
		"garbage":              false,
		"{NOPE}x":              false,
		"{CRYPT}abJnggxhB/yWI": false,
	}
	for stored, want := range tests {
		if got := NeedsRehash(stored); got != want {
			t.Errorf("NeedsRehash(%q) = %v, want %v", stored, got, want)
		}
	}
}

// TestComputedDigests checks the digest schemes against values computed
// here with the standard library, independent of any installed tool.
func TestComputedDigests(t *testing.T) {
	pw, salt := "secret", []byte{1, 2, 3, 4, 5, 6, 7, 8}
	b64 := base64.StdEncoding.EncodeToString
	ssha := sha512.Sum512(append([]byte(pw), salt...))
	sha := sha1.Sum([]byte(pw))
	md := md5.Sum([]byte(pw))
	cases := map[string]string{
		"{SSHA512}" + b64(append(ssha[:], salt...)):                    "SSHA512",
		"{SSHA512.hex}" + hex.EncodeToString(append(ssha[:], salt...)): "SSHA512",
		"{SHA}" + b64(sha[:]):                                          "SHA1",
		"{SHA1}" + hex.EncodeToString(sha[:]):                          "SHA1",
		"{PLAIN-MD5}" + hex.EncodeToString(md[:]):                      "PLAIN-MD5",
		"{LDAP-MD5}" + b64(md[:]):                                      "LDAP-MD5",
		"{LDAP-MD5}" + strings.TrimRight(b64(md[:]), "="):              "LDAP-MD5",
		"{MD5}" + hex.EncodeToString(md[:]):                            "PLAIN-MD5",
		"{PLAIN}" + pw:                                                 "PLAIN",
		"{PLAIN.b64}" + b64([]byte(pw)):                                "PLAIN",
	}
	for stored, want := range cases {
		checkStored(t, stored, pw, want)
	}
}

// TestCRAMMD5Context checks the stored HMAC-MD5 precomputation against
// crypto/hmac: resuming MD5 from the stored inner and outer chaining values
// (as a CRAM-MD5 server does) must give the same MAC as HMAC-MD5 keyed with
// the password.
func TestCRAMMD5Context(t *testing.T) {
	for _, pw := range append([]string{""}, testPasswords...) {
		ctx, err := cramMD5Context(pw)
		if err != nil {
			t.Fatal(err)
		}
		if len(ctx) != cramMD5Len {
			t.Fatalf("context length %d", len(ctx))
		}
		msg := []byte("<1896.697170952@postoffice.example.net>") // RFC 2195
		inner := resumeMD5(t, ctx[16:])
		inner.Write(msg)
		outer := resumeMD5(t, ctx[:16])
		outer.Write(inner.Sum(nil))
		mac := hmac.New(md5.New, []byte(pw))
		mac.Write(msg)
		if !hmac.Equal(outer.Sum(nil), mac.Sum(nil)) {
			t.Errorf("CRAM-MD5 context for %q does not reproduce HMAC-MD5", pw)
		}
		stored := "{CRAM-MD5}" + hex.EncodeToString(ctx)
		checkStored(t, stored, pw, "CRAM-MD5")
	}
}

// resumeMD5 returns an MD5 hash that has consumed one 64-byte block and is
// in state (A, B, C, D little-endian), via crypto/md5's marshalled form.
func resumeMD5(t *testing.T, state []byte) hash.Hash {
	t.Helper()
	b := []byte("md5\x01")
	for i := 0; i < 4; i++ {
		b = binary.BigEndian.AppendUint32(b, binary.LittleEndian.Uint32(state[4*i:]))
	}
	b = append(b, make([]byte, md5.BlockSize)...)
	b = binary.BigEndian.AppendUint64(b, md5.BlockSize)
	h := md5.New()
	if err := h.(encoding.BinaryUnmarshaler).UnmarshalBinary(b); err != nil {
		t.Fatal(err)
	}
	return h
}
