package password

import (
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"hash"
	"strconv"
	"strings"

	"github.com/xdg-go/stringprep"
)

// SCRAMKeys are what a SCRAM server keeps for one password (RFC 5802 3):
// the PBKDF2 salt and iteration count, StoredKey = H(HMAC(SaltedPassword,
// "Client Key")) and ServerKey = HMAC(SaltedPassword, "Server Key"). They
// verify a client's proof without the password, but are as good as a
// PBKDF2 hash of it for an offline guesser.
type SCRAMKeys struct {
	Iterations int
	Salt       []byte
	StoredKey  []byte
	ServerKey  []byte
}

// SCRAM limits and defaults.
const (
	// MinSCRAMIterations is RFC 7677's minimum for SCRAM-SHA-256.
	MinSCRAMIterations = 4096
	scramSaltLen       = 16 // bytes, as Dovecot uses
)

// NewSCRAMKeys derives SCRAM-SHA-256 keys for plain with a new random salt.
// The password is SASLprep'd first (RFC 5802 2.2) when SASLprep accepts
// it, as SCRAM clients do.
func NewSCRAMKeys(plain string, iterations int) (SCRAMKeys, error) {
	if iterations < 1 || iterations > limits.scramIterations {
		return SCRAMKeys{}, fmt.Errorf("password: SCRAM iteration count %d out of range", iterations)
	}
	salt := make([]byte, scramSaltLen)
	if _, err := rand.Read(salt); err != nil {
		return SCRAMKeys{}, fmt.Errorf("password: reading random salt: %w", err)
	}
	return deriveSCRAM(sha256.New, prepPassword(plain), salt, iterations)
}

// DeriveSCRAMKeys derives SCRAM-SHA-256 keys for plain (used as given, not
// SASLprep'd) with salt and iterations.
func DeriveSCRAMKeys(plain string, salt []byte, iterations int) (SCRAMKeys, error) {
	return deriveSCRAM(sha256.New, plain, salt, iterations)
}

func deriveSCRAM(h func() hash.Hash, plain string, salt []byte, iterations int) (SCRAMKeys, error) {
	salted, err := pbkdf2.Key(h, plain, salt, iterations, h().Size())
	if err != nil {
		return SCRAMKeys{}, fmt.Errorf("password: SCRAM key derivation: %w", err)
	}
	mac := func(msg string) []byte {
		m := hmac.New(h, salted)
		m.Write([]byte(msg))
		return m.Sum(nil)
	}
	stored := h()
	stored.Write(mac("Client Key"))
	return SCRAMKeys{
		Iterations: iterations,
		Salt:       append([]byte(nil), salt...),
		StoredKey:  stored.Sum(nil),
		ServerKey:  mac("Server Key"),
	}, nil
}

// prepPassword is SASLprep(plain), or plain when SASLprep refuses it
// (unassigned code points, mixed directions): such passwords still work
// with clients that skip the preparation.
func prepPassword(plain string) string {
	if p, err := stringprep.SASLprep.Prepare(plain); err == nil {
		return p
	}
	return plain
}

// String is the keys in Dovecot's stored form:
// "{SCRAM-SHA-256}iterations,salt,storedkey,serverkey", base64 each.
func (k SCRAMKeys) String() string {
	b64 := base64.StdEncoding.EncodeToString
	return "{SCRAM-SHA-256}" + strconv.Itoa(k.Iterations) + "," + b64(k.Salt) + "," + b64(k.StoredKey) + "," + b64(k.ServerKey)
}

// SCRAMSHA256Keys returns the keys in a stored "{SCRAM-SHA-256}" hash as
// Dovecot writes it (doveadm pw -s SCRAM-SHA-256); ok is false when stored
// is another scheme, err set when it is this scheme but malformed.
func SCRAMSHA256Keys(stored string) (k SCRAMKeys, ok bool, err error) {
	p, err := parse(stored)
	if err != nil || p.name != "SCRAM-SHA-256" {
		return SCRAMKeys{}, false, nil
	}
	k, err = parseSCRAM(p, sha256.Size)
	return k, err == nil, err
}

// scramHashes are the stored SCRAM schemes Verify accepts.
var scramHashes = map[string]func() hash.Hash{
	"SCRAM-SHA-1":   sha1.New,
	"SCRAM-SHA-256": sha256.New,
}

// parseSCRAM splits a stored SCRAM body "iter,salt,storedkey,serverkey".
func parseSCRAM(p parsed, keyLen int) (SCRAMKeys, error) {
	if p.enc != encDefault {
		return SCRAMKeys{}, malformed(p, "SCRAM schemes take no .b64/.hex suffix")
	}
	f := strings.Split(p.body, ",")
	if len(f) != 4 {
		return SCRAMKeys{}, malformed(p, "want iterations,salt,storedkey,serverkey")
	}
	iter, err := strconv.Atoi(f[0])
	if err != nil || iter < 1 {
		return SCRAMKeys{}, malformed(p, "bad iteration count")
	}
	if iter > limits.scramIterations {
		return SCRAMKeys{}, malformed(p, "iteration count %d over the limit of %d", iter, limits.scramIterations)
	}
	var k SCRAMKeys
	k.Iterations = iter
	for i, dst := range []*[]byte{&k.Salt, &k.StoredKey, &k.ServerKey} {
		b, err := decodeB64(f[i+1])
		if err != nil || len(b) == 0 {
			return SCRAMKeys{}, malformed(p, "field %d is not base64", i+2)
		}
		*dst = b
	}
	if len(k.StoredKey) != keyLen || len(k.ServerKey) != keyLen {
		return SCRAMKeys{}, malformed(p, "keys must be %d bytes", keyLen)
	}
	return k, nil
}

// verifySCRAM checks a plaintext password against stored SCRAM keys: the
// password as given (Dovecot's doveadm does not SASLprep), then SASLprep'd
// if that differs.
func verifySCRAM(p parsed, plain string) (bool, error) {
	h := scramHashes[p.name]
	k, err := parseSCRAM(p, h().Size())
	if err != nil {
		return false, err
	}
	try := []string{plain}
	if prep := prepPassword(plain); prep != plain {
		try = append(try, prep)
	}
	for _, pw := range try {
		got, err := deriveSCRAM(h, pw, k.Salt, k.Iterations)
		if err != nil {
			return false, malformed(p, "%v", err)
		}
		if subtle.ConstantTimeCompare(got.StoredKey, k.StoredKey)&subtle.ConstantTimeCompare(got.ServerKey, k.ServerKey) == 1 {
			return true, nil
		}
	}
	return false, nil
}
