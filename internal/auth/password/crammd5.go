package password

import (
	"crypto/hmac"
	"crypto/md5"
	"encoding"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
)

// ErrNoCRAMMD5 means a stored hash cannot answer a CRAM-MD5 challenge:
// only the password itself or its HMAC-MD5 context can.
var ErrNoCRAMMD5 = errors.New("stored password scheme cannot do CRAM-MD5")

// CanCRAMMD5 reports whether stored can answer CRAM-MD5 challenges: a
// {CRAM-MD5} (alias {HMAC-MD5}) context or a {PLAIN} (alias {CLEARTEXT})
// password.
func CanCRAMMD5(stored string) bool {
	p, err := parse(stored)
	return err == nil && (p.name == "CRAM-MD5" || p.name == "PLAIN")
}

// CRAMMD5 returns HMAC-MD5(password, challenge), the digest a CRAM-MD5
// client must send (RFC 2195 2), for a stored {CRAM-MD5} context or {PLAIN}
// password. Other schemes give an error wrapping ErrNoCRAMMD5; a malformed
// stored string one wrapping ErrMalformed.
func CRAMMD5(stored string, challenge []byte) ([]byte, error) {
	p, err := parse(stored)
	if err != nil {
		return nil, err
	}
	switch p.name {
	case "PLAIN":
		raw, err := decodeRaw(p, encDefault, 0)
		if err != nil {
			return nil, err
		}
		m := hmac.New(md5.New, raw)
		m.Write(challenge)
		return m.Sum(nil), nil
	case "CRAM-MD5":
		raw, err := decodeRaw(p, encHex, cramMD5Len)
		if err != nil {
			return nil, err
		}
		// raw is the outer (key^opad) state, then the inner (key^ipad)
		// one: HMAC = MD5(opad-state, MD5(ipad-state, challenge)).
		inner, err := md5FromState(raw[16:])
		if err != nil {
			return nil, malformed(p, "%v", err)
		}
		inner.Write(challenge)
		outer, err := md5FromState(raw[:16])
		if err != nil {
			return nil, malformed(p, "%v", err)
		}
		outer.Write(inner.Sum(nil))
		return outer.Sum(nil), nil
	}
	return nil, fmt.Errorf("password: {%s}: %w", quoteLabel(p.label), ErrNoCRAMMD5)
}

// md5FromState makes an MD5 that continues after one compressed 64-byte
// block whose chaining values A, B, C, D (little-endian each) are state,
// through crypto/md5's versioned marshalling ("md5\x01", A-D big-endian,
// the 64-byte buffer, the length so far big-endian); see appendMD5State.
func md5FromState(state []byte) (hash.Hash, error) {
	b := make([]byte, 0, 4+16+md5.BlockSize+8)
	b = append(b, "md5\x01"...)
	for i := 0; i < 4; i++ {
		b = binary.BigEndian.AppendUint32(b, binary.LittleEndian.Uint32(state[4*i:]))
	}
	b = append(b, make([]byte, md5.BlockSize)...)
	b = binary.BigEndian.AppendUint64(b, md5.BlockSize)
	h := md5.New()
	u, ok := h.(encoding.BinaryUnmarshaler)
	if !ok {
		return nil, errCRAMState
	}
	if err := u.UnmarshalBinary(b); err != nil {
		return nil, errCRAMState
	}
	return h, nil
}
