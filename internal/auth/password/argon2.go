package password

import (
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
)

// argon2Params are argon2's cost parameters: memory in KiB, passes, lanes.
type argon2Params struct {
	memory  uint32
	time    uint32
	threads uint8
}

// argon2Hash is a decoded PHC-format argon2 string, the form Dovecot (via
// libsodium) stores: $argon2id$v=19$m=65536,t=3,p=1$<salt>$<hash> with salt
// and hash in standard base64 without padding.
type argon2Hash struct {
	variant string // "argon2id" or "argon2i"
	params  argon2Params
	salt    []byte
	key     []byte
}

func (h argon2Hash) derive(plain string, keyLen uint32) []byte {
	p := h.params
	if h.variant == "argon2i" {
		return argon2.Key([]byte(plain), h.salt, p.time, p.memory, p.threads, keyLen)
	}
	return argon2.IDKey([]byte(plain), h.salt, p.time, p.memory, p.threads, keyLen)
}

func (h argon2Hash) encode() string {
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$%s$v=%d$m=%d,t=%d,p=%d$%s$%s", h.variant, argon2.Version,
		h.params.memory, h.params.time, h.params.threads,
		b64.EncodeToString(h.salt), b64.EncodeToString(h.key))
}

func verifyArgon2(p parsed, plain string) (bool, error) {
	h, err := parseArgon2(p)
	if err != nil {
		return false, err
	}
	got := h.derive(plain, uint32(len(h.key)))
	return subtle.ConstantTimeCompare(got, h.key) == 1, nil
}

// parseArgon2 decodes and sanity-checks p.body, which cryptScheme has
// already matched to "$argon2id$" or "$argon2i$".
func parseArgon2(p parsed) (argon2Hash, error) {
	fields := strings.Split(p.body, "$")
	// "", variant, version, params, salt, hash
	if len(fields) != 6 {
		return argon2Hash{}, malformed(p, "want $variant$v=19$m=..,t=..,p=..$salt$hash")
	}
	h := argon2Hash{variant: fields[1]}
	if fields[2] != "v=19" {
		return argon2Hash{}, fmt.Errorf("password: {%s}: %w: argon2 version %q (only v=19 is supported)",
			quoteLabel(p.label), ErrUnknownScheme, quoteLabel(fields[2]))
	}
	params, err := parseArgon2Params(fields[3])
	if err != nil {
		return argon2Hash{}, malformed(p, "%v", err)
	}
	h.params = params
	if h.salt, err = decodeB64(fields[4]); err != nil || len(h.salt) < 8 {
		return argon2Hash{}, malformed(p, "salt is not base64 of at least 8 bytes")
	}
	if h.key, err = decodeB64(fields[5]); err != nil || len(h.key) < 4 || len(h.key) > 1024 {
		return argon2Hash{}, malformed(p, "hash is not base64 of 4 to 1024 bytes")
	}
	return h, nil
}

// parseArgon2Params parses "m=65536,t=3,p=1" (in that order, as the PHC
// string format and libsodium require) and checks it against limits.
func parseArgon2Params(s string) (argon2Params, error) {
	parts := strings.Split(s, ",")
	keys := []string{"m", "t", "p"}
	if len(parts) != len(keys) {
		return argon2Params{}, fmt.Errorf("parameters must be m=..,t=..,p=..")
	}
	var vals [3]uint64
	for i, part := range parts {
		k, v, ok := strings.Cut(part, "=")
		if !ok || k != keys[i] {
			return argon2Params{}, fmt.Errorf("parameters must be m=..,t=..,p=..")
		}
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return argon2Params{}, fmt.Errorf("parameter %s is not a number", k)
		}
		vals[i] = n
	}
	m, t, par := vals[0], vals[1], vals[2]
	switch {
	case par < 1 || par > 255:
		return argon2Params{}, fmt.Errorf("p=%d out of range 1..255", par)
	case t < 1:
		return argon2Params{}, fmt.Errorf("t must be at least 1")
	case m < 8*par:
		return argon2Params{}, fmt.Errorf("m=%d below 8*p", m)
	case m > uint64(limits.argon2MemoryKiB):
		return argon2Params{}, fmt.Errorf("m=%d exceeds limit %d KiB", m, limits.argon2MemoryKiB)
	case t > uint64(limits.argon2Time):
		return argon2Params{}, fmt.Errorf("t=%d exceeds limit %d", t, limits.argon2Time)
	}
	return argon2Params{memory: uint32(m), time: uint32(t), threads: uint8(par)}, nil
}

// decodeB64 decodes standard base64 with or without '=' padding.
func decodeB64(s string) ([]byte, error) {
	return base64.RawStdEncoding.DecodeString(strings.TrimRight(s, "="))
}
