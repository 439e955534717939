package dkimcore

import (
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"
	"strings"
	"time"

	"mailwarden/internal/dnsx"
	"mailwarden/internal/msgauth/tagvalue"
)

// Key sizes accepted for RSA (RFC 8301 3.2: at least 1024 bits; the
// upper bound keeps a stranger's key from costing seconds to use).
const (
	MinRSABits = 1024
	MaxRSABits = 8192
)

// TXTLookup fetches the TXT records at name, each as one string; it
// returns errors wrapping dnsx.ErrNotFound or dnsx.ErrTemporary.
type TXTLookup func(ctx context.Context, name string) ([]string, error)

// Errors of key retrieval: a permanent problem (no key, a bad record)
// fails the signature, a temporary one makes the result temperror.
var (
	ErrKeyPerm = errors.New("no usable key")
	ErrKeyTemp = errors.New("key lookup failed temporarily")
)

// PublicKey is a key from a DKIM key record.
type PublicKey struct {
	Type string // rsa or ed25519
	Key  crypto.PublicKey
	// Flags are the record's t= flags ("y", "s").
	Flags []string
}

// FetchKey looks up selector._domainkey.domain and parses the DKIM key
// record (RFC 6376 3.6.1) for a signature of keyType.
func FetchKey(ctx context.Context, lookup TXTLookup, timeout time.Duration, domain, selector, keyType string) (*PublicKey, error) {
	return FetchRecord(ctx, lookup, timeout, domain, selector, func(txt string) (*PublicKey, error) { return ParseKey(txt, keyType) })
}

// FetchRecord looks up selector._domainkey.domain, bounded by timeout,
// and returns the first TXT record parse accepts. Errors wrap ErrKeyTemp
// (DNS could not answer: the result is temperror) or ErrKeyPerm (no
// record, none usable). DomainKeys keys live at the same names.
func FetchRecord[K any](ctx context.Context, lookup TXTLookup, timeout time.Duration, domain, selector string, parse func(string) (K, error)) (K, error) {
	var zero K
	if lookup == nil {
		return zero, fmt.Errorf("%w: no resolver", ErrKeyTemp)
	}
	name := selector + "._domainkey." + domain
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	txts, err := lookup(ctx, name)
	if err != nil {
		if errors.Is(err, dnsx.ErrNotFound) {
			return zero, fmt.Errorf("%w: no key at %s", ErrKeyPerm, name)
		}
		return zero, fmt.Errorf("%w: %s: %w", ErrKeyTemp, name, err)
	}
	var last error = fmt.Errorf("%w: no key at %s", ErrKeyPerm, name)
	for _, txt := range txts {
		k, err := parse(txt)
		if err == nil {
			return k, nil
		}
		last = fmt.Errorf("%w: %s: %w", ErrKeyPerm, name, err)
	}
	return zero, last
}

// ParseKey parses a DKIM key record (RFC 6376 3.6.1, RFC 8463 4).
func ParseKey(txt, keyType string) (*PublicKey, error) {
	tags, err := tagvalue.Parse(txt)
	if err != nil {
		return nil, err
	}
	if len(tags) > 0 && tags[0].Name != "v" {
		if _, ok := tags.Lookup("v"); ok {
			return nil, errors.New("v= is not the first tag")
		}
	}
	if v, ok := tags.Lookup("v"); ok && v != "DKIM1" {
		return nil, fmt.Errorf("v=%.10q", v)
	}
	if h, ok := tags.Lookup("h"); ok && !listHas(h, "sha256") {
		return nil, errors.New("h= does not allow sha256")
	}
	if s, ok := tags.Lookup("s"); ok && !listHas(s, "*") && !listHas(s, "email") {
		return nil, errors.New("s= is not for email")
	}
	k := strings.ToLower(tags.Get("k"))
	if k == "" {
		k = "rsa"
	}
	if k != keyType {
		return nil, fmt.Errorf("key type %.10q, signature needs %s", k, keyType)
	}
	p, ok := tags.Lookup("p")
	if !ok {
		return nil, errors.New("no p= tag")
	}
	if tagvalue.StripFWS(p) == "" {
		return nil, errors.New("key revoked (empty p=)")
	}
	der, err := Decode64(p)
	if err != nil {
		return nil, fmt.Errorf("p= is not base64: %w", err)
	}
	switch k {
	case "ed25519":
		if len(der) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("ed25519 key of %d bytes", len(der))
		}
		return &PublicKey{Type: k, Key: ed25519.PublicKey(der), Flags: flags(tags)}, nil
	default:
		pub, err := ParseRSA(der)
		if err != nil {
			return nil, err
		}
		return &PublicKey{Type: k, Key: pub, Flags: flags(tags)}, nil
	}
}

// ParseRSA reads the DER of an RSA public key as key records carry it
// (SubjectPublicKeyInfo, or PKCS #1 as some signers publish) and checks
// its size against MinRSABits and MaxRSABits.
func ParseRSA(der []byte) (*rsa.PublicKey, error) {
	var pub *rsa.PublicKey
	if pk, err := x509.ParsePKIXPublicKey(der); err == nil {
		rk, ok := pk.(*rsa.PublicKey)
		if !ok {
			return nil, errors.New("p= is not an RSA key")
		}
		pub = rk
	} else if rk, err2 := x509.ParsePKCS1PublicKey(der); err2 == nil {
		pub = rk
	} else {
		return nil, fmt.Errorf("p=: %w", err)
	}
	if bits := pub.N.BitLen(); bits < MinRSABits || bits > MaxRSABits {
		return nil, fmt.Errorf("RSA key of %d bits", bits)
	}
	return pub, nil
}

// HasFlag reports whether a t= flag list (colon-separated) holds flag.
func HasFlag(list, flag string) bool {
	for _, f := range strings.Split(list, ":") {
		if strings.EqualFold(strings.TrimSpace(f), flag) {
			return true
		}
	}
	return false
}

func listHas(list, want string) bool {
	for _, v := range strings.Split(list, ":") {
		if strings.EqualFold(strings.TrimSpace(v), want) {
			return true
		}
	}
	return false
}

// flags are the t= flags of a key record, lower case.
func flags(tags tagvalue.List) []string {
	var out []string
	for _, f := range strings.Split(tags.Get("t"), ":") {
		if f = strings.ToLower(strings.TrimSpace(f)); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// Verify checks sig over the SHA-256 digest of the signed data.
func (k *PublicKey) Verify(digest, sig []byte) error {
	switch pub := k.Key.(type) {
	case *rsa.PublicKey:
		return rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest, sig)
	case ed25519.PublicKey:
		// RFC 8463 3: Ed25519 over the SHA-256 hash of the data.
		if !ed25519.Verify(pub, digest, sig) {
			return errors.New("ed25519: invalid signature")
		}
		return nil
	}
	return errors.New("unknown key type")
}
