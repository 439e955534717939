package password

import (
	"strings"
	"testing"
)

// FuzzVerify checks that Verify, Scheme and NeedsRehash never panic on
// arbitrary stored strings, and that Verify never reports a match together
// with an error. Cost limits are lowered so one input cannot take seconds.
func FuzzVerify(f *testing.F) {
	saved := limits
	limits.argon2MemoryKiB, limits.argon2Time = 256, 2
	limits.bcryptCost, limits.shaCryptRounds = 5, 5000
	limits.scramIterations = 5000
	f.Cleanup(func() { limits = saved })

	seeds := []string{
		"", "{", "}", "{}", "{PLAIN}", "{PLAIN}secret", "{PLAIN.b64}c2VjcmV0",
		"{CLEARTEXT}secret", "{SSHA512.hex}00", "{SSHA}AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		"{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ=", "{PLAIN-MD5}5ebe2294ecd0e0f08eab7690d2a6ee69",
		"{LDAP-MD5}Xr4ilOzQ4PCOq3aQ0qbuaQ==", "{CRAM-MD5}" + strings.Repeat("0", 64),
		"{MD5}$1$", "{CRYPT}$6$", "{CRYPT}abJnggxhB/yWI",
		"$1$salt$" + strings.Repeat(".", 22),
		"$5$rounds=1000$salt$" + strings.Repeat("a", 43),
		"$6$saltsalt$" + strings.Repeat("a", 86),
		"$2y$04$" + strings.Repeat("a", 53),
		"$2b$04$" + strings.Repeat(".", 53),
		"$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2g",
		"$argon2i$v=19$m=64,t=1,p=2$c2FsdHNhbHQ$aGFzaGhhc2g",
		"{ARGON2ID}$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2g",
		"{SCRAM-SHA-256}16,c2FsdA==,95qXWt8E9/Qoeex9haOKvaofCYggLDxGSYWkM27n8vw=,tYKgzKTBNAd4yHFqnXMj9+jEycp6Vk8xbvw7yQ5H26U=",
		"{SCRAM-SHA-1}16,c2FsdA==,4SKGfi5FDaAZywkC4gnLnH98gC0=,jyuD5wQt3F6xbvdElzk67o+Ta+U=",
	}
	for _, s := range seeds {
		f.Add(s, "secret")
	}
	f.Fuzz(func(t *testing.T, stored, plain string) {
		ok, err := Verify(stored, plain)
		if ok && err != nil {
			t.Fatalf("Verify(%q) = true with error %v", stored, err)
		}
		Scheme(stored)
		NeedsRehash(stored)
		SCRAMSHA256Keys(stored)
		if d, err := CRAMMD5(stored, []byte("<1.2@x>")); err == nil && len(d) != 16 {
			t.Fatalf("CRAMMD5(%q) = %x", stored, d)
		}
	})
}
