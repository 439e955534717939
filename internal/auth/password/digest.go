package password

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"hash"
)

// digestSpec describes one of Dovecot's raw-digest schemes.
type digestSpec struct {
	newHash func() hash.Hash
	salted  bool         // stored = hash(pw+salt)+salt, else hash(pw)
	enc     textEncoding // default text encoding when no suffix is given
}

var digests = map[string]digestSpec{
	"SHA1":      {newHash: sha1.New, enc: encBase64},
	"SHA256":    {newHash: sha256.New, enc: encBase64},
	"SHA512":    {newHash: sha512.New, enc: encBase64},
	"PLAIN-MD5": {newHash: md5.New, enc: encHex},
	"LDAP-MD5":  {newHash: md5.New, enc: encBase64},
	"SSHA":      {newHash: sha1.New, salted: true, enc: encBase64},
	"SSHA256":   {newHash: sha256.New, salted: true, enc: encBase64},
	"SSHA512":   {newHash: sha512.New, salted: true, enc: encBase64},
	"SMD5":      {newHash: md5.New, salted: true, enc: encBase64},
}

// decodeRaw turns p.body into bytes the way Dovecot does: an explicit
// ".b64"/".hex" suffix wins; for fixed-size digests (fixedLen > 0) a body of
// exactly 2*fixedLen characters is hex and anything else base64, so e.g.
// {PLAIN-MD5} and {LDAP-MD5} each accept both encodings; otherwise the
// scheme's default.
func decodeRaw(p parsed, def textEncoding, fixedLen int) ([]byte, error) {
	enc := p.enc
	if enc == encDefault {
		enc = def
		if fixedLen > 0 {
			enc = encBase64
			if len(p.body) == 2*fixedLen {
				enc = encHex
			}
		}
	}
	var raw []byte
	var err error
	switch enc {
	case encHex:
		raw, err = hex.DecodeString(p.body)
		if err != nil {
			return nil, malformed(p, "not valid hex")
		}
	case encBase64:
		raw, err = decodeB64(p.body)
		if err != nil {
			return nil, malformed(p, "not valid base64")
		}
	default:
		raw = []byte(p.body)
	}
	if fixedLen > 0 && len(raw) != fixedLen {
		return nil, malformed(p, "decoded length %d, want %d", len(raw), fixedLen)
	}
	return raw, nil
}

// verifyDigest checks the salted and unsalted SHA/MD5 schemes.
func verifyDigest(p parsed, spec digestSpec, plain string) (bool, error) {
	h := spec.newHash()
	size := h.Size()
	fixed := size
	if spec.salted {
		fixed = 0
	}
	raw, err := decodeRaw(p, spec.enc, fixed)
	if err != nil {
		return false, err
	}
	if spec.salted && len(raw) <= size {
		return false, malformed(p, "decoded length %d leaves no salt after the %d-byte digest", len(raw), size)
	}
	h.Write([]byte(plain))
	h.Write(raw[size:]) // the salt; empty when unsalted
	return subtle.ConstantTimeCompare(h.Sum(nil), raw[:size]) == 1, nil
}

// verifyPlain checks {PLAIN}/{CLEARTEXT} (optionally .b64/.hex encoded).
// Both sides are hashed first so the comparison time does not depend on
// the stored password's length.
func verifyPlain(p parsed, plain string) (bool, error) {
	raw, err := decodeRaw(p, encDefault, 0)
	if err != nil {
		return false, err
	}
	want := sha256.Sum256(raw)
	got := sha256.Sum256([]byte(plain))
	return subtle.ConstantTimeCompare(want[:], got[:]) == 1, nil
}

// cramMD5Len is the size of Dovecot's stored CRAM-MD5 / HMAC-MD5 secret.
const cramMD5Len = 32

// verifyCRAMMD5 checks Dovecot's {CRAM-MD5} (alias {HMAC-MD5}) form: the
// HMAC-MD5 key schedule precomputed from the password (RFC 2104), i.e. the
// MD5 chaining values A, B, C, D (each little-endian) after compressing the
// one block key^opad, followed by those after key^ipad; 64 hex characters.
// This is what a CRAM-MD5 server needs to answer challenges, and the same
// computation from a candidate password verifies it.
func verifyCRAMMD5(p parsed, plain string) (bool, error) {
	raw, err := decodeRaw(p, encHex, cramMD5Len)
	if err != nil {
		return false, err
	}
	got, err := cramMD5Context(plain)
	if err != nil {
		return false, malformed(p, "%v", err)
	}
	return subtle.ConstantTimeCompare(got, raw) == 1, nil
}

func cramMD5Context(plain string) ([]byte, error) {
	key := []byte(plain)
	if len(key) > md5.BlockSize {
		sum := md5.Sum(key)
		key = sum[:]
	}
	var ipad, opad [md5.BlockSize]byte
	copy(ipad[:], key)
	copy(opad[:], key)
	for i := range ipad {
		ipad[i] ^= 0x36
		opad[i] ^= 0x5c
	}
	out := make([]byte, 0, cramMD5Len)
	out, err := appendMD5State(out, opad[:])
	if err != nil {
		return nil, err
	}
	return appendMD5State(out, ipad[:])
}

// appendMD5State appends the MD5 chaining values after compressing the
// single 64-byte block. crypto/md5 does not expose them directly, but its
// versioned binary marshalling does: "md5\x01", then A, B, C, D big-endian.
func appendMD5State(dst, block []byte) ([]byte, error) {
	h := md5.New()
	h.Write(block)
	m, ok := h.(encoding.BinaryMarshaler)
	if !ok {
		return nil, errCRAMState
	}
	state, err := m.MarshalBinary()
	if err != nil || len(state) < 4+16 || string(state[:4]) != "md5\x01" {
		return nil, errCRAMState
	}
	for i := 0; i < 4; i++ {
		v := binary.BigEndian.Uint32(state[4+4*i:])
		dst = binary.LittleEndian.AppendUint32(dst, v)
	}
	return dst, nil
}

var errCRAMState = errors.New("cannot read MD5 state from crypto/md5 (marshalling format changed)")
