package dkim

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
	"time"

	"golang.org/x/net/idna"
)

// Algorithm is a kind of signing key: "rsa2048", "rsa3072" or "ed25519".
type Algorithm string

const (
	RSA2048 Algorithm = "rsa2048"
	RSA3072 Algorithm = "rsa3072"
	Ed25519 Algorithm = "ed25519"
)

// Algorithms lists the algorithms keygen accepts.
var Algorithms = []Algorithm{RSA2048, RSA3072, Ed25519}

// ParseAlgorithm checks a --algo value.
func ParseAlgorithm(s string) (Algorithm, error) {
	for _, a := range Algorithms {
		if strings.EqualFold(s, string(a)) {
			return a, nil
		}
	}
	return "", fmt.Errorf("dkim: algorithm %q is not rsa2048, rsa3072 or ed25519", s)
}

// KeyType is the k= of the DNS record and the first part of a=: "rsa" or
// "ed25519" (RFC 6376 3.6.1, RFC 8463 3).
func (a Algorithm) KeyType() string {
	if a == Ed25519 {
		return "ed25519"
	}
	return "rsa"
}

// Generate makes a new private key of algorithm a.
func (a Algorithm) Generate() (crypto.Signer, error) {
	switch a {
	case RSA2048, RSA3072:
		bits := 2048
		if a == RSA3072 {
			bits = 3072
		}
		k, err := rsa.GenerateKey(rand.Reader, bits)
		if err != nil {
			return nil, fmt.Errorf("dkim: generate %s key: %w", a, err)
		}
		return k, nil
	case Ed25519:
		_, k, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return nil, fmt.Errorf("dkim: generate ed25519 key: %w", err)
		}
		return k, nil
	}
	return nil, fmt.Errorf("dkim: unknown algorithm %q", a)
}

// algorithmOf names the algorithm of a parsed key.
func algorithmOf(k crypto.Signer) (Algorithm, error) {
	switch p := k.Public().(type) {
	case *rsa.PublicKey:
		switch bits := p.N.BitLen(); {
		case bits < 1024:
			// RFC 8301 3.2: verifiers refuse keys under 1024 bits.
			return "", fmt.Errorf("dkim: RSA key of %d bits is too short (RFC 8301 wants at least 1024, 2048 is usual)", bits)
		case bits <= 2048:
			return RSA2048, nil
		default:
			return RSA3072, nil
		}
	case ed25519.PublicKey:
		return Ed25519, nil
	}
	return "", fmt.Errorf("dkim: unsupported key type %T", k.Public())
}

// PublicValue is the p= of the DNS record: the base64 of the RSA public
// key's SubjectPublicKeyInfo (RFC 6376 3.6.1, as opendkim-genkey writes
// it) or of the raw 32-byte Ed25519 public key (RFC 8463 4).
func PublicValue(k crypto.Signer) (string, error) {
	switch p := k.Public().(type) {
	case *rsa.PublicKey:
		der, err := x509.MarshalPKIXPublicKey(p)
		if err != nil {
			return "", fmt.Errorf("dkim: public key: %w", err)
		}
		return base64.StdEncoding.EncodeToString(der), nil
	case ed25519.PublicKey:
		return base64.StdEncoding.EncodeToString(p), nil
	}
	return "", fmt.Errorf("dkim: unsupported key type %T", k.Public())
}

// EncodePrivateKey writes k as a PKCS#8 PEM block.
func EncodePrivateKey(k crypto.Signer) (string, error) {
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return "", fmt.Errorf("dkim: encode private key: %w", err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})), nil
}

// ParsePrivateKey reads a private key as Mailwarden stores it and as
// OpenDKIM's and dkimpy's tools write it: PEM with PKCS#8 ("PRIVATE
// KEY") or PKCS#1 ("RSA PRIVATE KEY"), or for Ed25519 the base64 of the
// 32-byte seed (dknewkey, OpenDKIM's KeyTable) or of the 64-byte key.
func ParsePrivateKey(data []byte) (crypto.Signer, error) {
	if block, _ := pem.Decode(data); block != nil {
		switch block.Type {
		case "PRIVATE KEY":
			k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
			if err != nil {
				return nil, fmt.Errorf("dkim: private key: %w", err)
			}
			s, ok := k.(crypto.Signer)
			if !ok {
				return nil, fmt.Errorf("dkim: private key of type %T cannot sign", k)
			}
			if _, err := algorithmOf(s); err != nil {
				return nil, err
			}
			return s, nil
		case "RSA PRIVATE KEY":
			k, err := x509.ParsePKCS1PrivateKey(block.Bytes)
			if err != nil {
				return nil, fmt.Errorf("dkim: private key: %w", err)
			}
			if _, err := algorithmOf(k); err != nil {
				return nil, err
			}
			return k, nil
		default:
			return nil, fmt.Errorf("dkim: PEM block %q is not a private key", block.Type)
		}
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(data)))
	if err != nil {
		return nil, errors.New("dkim: private key is neither PEM nor a base64 Ed25519 key")
	}
	switch len(raw) {
	case ed25519.SeedSize:
		return ed25519.NewKeyFromSeed(raw), nil
	case ed25519.PrivateKeySize:
		return ed25519.PrivateKey(raw), nil
	}
	return nil, fmt.Errorf("dkim: base64 key of %d bytes is not an Ed25519 seed (32) or key (64)", len(raw))
}

// Record is the TXT value to publish for a key (RFC 6376 3.6.1).
func Record(a Algorithm, public string) string {
	return "v=DKIM1; k=" + a.KeyType() + "; p=" + public
}

// RecordName is the owner name of a key's TXT record (RFC 6376 3.6.2.1),
// fully qualified with its final dot.
func RecordName(selector, domain string) string {
	return selector + "._domainkey." + domain + "."
}

// ZoneLines writes the record in BIND zone-file syntax, its value split
// into character-strings of at most 255 bytes (RFC 1035 3.3: one
// character-string holds 255 octets; DKIM verifiers join them, RFC 6376
// 3.6.2.2).
func ZoneLines(name, value string) string {
	var b strings.Builder
	b.WriteString(name)
	b.WriteString("\tIN\tTXT\t( ")
	for i := 0; i < len(value); i += 255 {
		if i > 0 {
			b.WriteString("\n\t")
		}
		// The value is base64 and tag syntax: no quote or backslash to escape.
		b.WriteString(`"` + value[i:min(i+255, len(value))] + `"`)
	}
	b.WriteString(" )")
	return b.String()
}

// NormalizeDomain returns a signing domain in the form stored and signed
// with: lower-case A-labels, no final dot. It refuses what is not a host
// name.
func NormalizeDomain(s string) (string, error) {
	d, err := idna.Lookup.ToASCII(strings.TrimSuffix(strings.TrimSpace(s), "."))
	if err != nil {
		return "", fmt.Errorf("dkim: domain %q: %w", s, err)
	}
	d = strings.ToLower(d)
	if !validName(d, 253) || !strings.Contains(d, ".") {
		return "", fmt.Errorf("dkim: %q is not a domain name", s)
	}
	return d, nil
}

// CheckSelector checks a selector: dot-separated labels of letters,
// digits and hyphens (RFC 6376 3.1).
func CheckSelector(s string) error {
	if !validName(s, 63) {
		return fmt.Errorf("dkim: selector %q: want letters, digits, hyphens and dots, at most 63 characters", s)
	}
	return nil
}

func validName(s string, max int) bool {
	if s == "" || len(s) > max {
		return false
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

// DefaultSelector is the selector keygen and rotate choose: "mw", the
// year and month, and "r" for RSA or "e" for Ed25519, e.g. mw202612r
// (the date says which key is older, the letter lets both kinds live in
// one month). taken reports selectors in use; a number is added after
// the letter until one is free (mw202612r2).
func DefaultSelector(a Algorithm, now time.Time, taken func(string) bool) string {
	base := "mw" + now.UTC().Format("200601")
	if a == Ed25519 {
		base += "e"
	} else {
		base += "r"
	}
	s := base
	for n := 2; taken(s); n++ {
		s = fmt.Sprintf("%s%d", base, n)
	}
	return s
}
