package arc

import (
	"crypto"
	"errors"
	"fmt"
	"mailwarden/internal/msgauth/dkimcore"
	"strconv"
	"strings"

	"mailwarden/internal/msgauth/tagvalue"
)

// MaxInstances is the most ARC sets a chain may have (RFC 8617 4.2.1).
const MaxInstances = 50

// Signing algorithms (RFC 8617 4.1.3 allows what DKIM does; rsa-sha1
// is refused, RFC 8301).
const (
	RSASHA256     = "rsa-sha256"
	Ed25519SHA256 = "ed25519-sha256"
)

var errBadSig = errors.New("arc: malformed signature")

// signature is a parsed ARC-Message-Signature or ARC-Seal.
type signature struct {
	instance   int
	algo       string // RSASHA256 or Ed25519SHA256
	keyType    string // "rsa" or "ed25519"
	domain     string // d=, lower case
	selector   string // s=
	cv         string // AS only: none, pass, fail
	headers    []string
	hdrCanon   string // AMS c= (AS: relaxed)
	bodyCanon  string
	bodyHash   []byte
	bodyLength int64 // l=, -1 when absent
	sig        []byte
}

func (s *signature) hash() crypto.Hash { return crypto.SHA256 }

// parseInstance reads i= (RFC 8617 4.2.1: 1 to 50).
func parseInstance(v string) (int, error) {
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > MaxInstances || strings.HasPrefix(v, "+") {
		return 0, fmt.Errorf("%w: instance %.10q is not 1 to %d", errBadSig, v, MaxInstances)
	}
	return n, nil
}

// parseSignature parses the value of an AMS (seal false) or AS (seal
// true) field: the tags of RFC 8617 4.1.2 and 4.1.3.
func parseSignature(value string, seal bool) (*signature, error) {
	tags, err := tagvalue.Parse(value)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errBadSig, err)
	}
	s := &signature{bodyLength: -1, hdrCanon: Relaxed, bodyCanon: Relaxed}
	required := []string{"i", "a", "b", "d", "s"}
	if seal {
		required = append(required, "cv")
	} else {
		required = append(required, "bh", "h")
	}
	for _, name := range required {
		if _, ok := tags.Lookup(name); !ok {
			return nil, fmt.Errorf("%w: no %s= tag", errBadSig, name)
		}
	}
	if s.instance, err = parseInstance(tags.Get("i")); err != nil {
		return nil, err
	}
	switch a := strings.ToLower(tags.Get("a")); a {
	case RSASHA256:
		s.algo, s.keyType = a, "rsa"
	case Ed25519SHA256:
		s.algo, s.keyType = a, "ed25519"
	default:
		return nil, fmt.Errorf("%w: algorithm %.20q not supported", errBadSig, a)
	}
	s.domain = strings.ToLower(strings.TrimSuffix(tags.Get("d"), "."))
	s.selector = tags.Get("s")
	if !validDomain(s.domain) || !validSelector(s.selector) {
		return nil, fmt.Errorf("%w: bad d= or s=", errBadSig)
	}
	if s.sig, err = dkimcore.Decode64(tags.Get("b")); err != nil || len(s.sig) == 0 {
		return nil, fmt.Errorf("%w: b= is not base64", errBadSig)
	}
	if seal {
		// RFC 8617 4.1.3: an AS has no h=; cv= is none, pass or fail.
		if _, ok := tags.Lookup("h"); ok {
			return nil, fmt.Errorf("%w: h= in ARC-Seal", errBadSig)
		}
		s.cv = strings.ToLower(tags.Get("cv"))
		if s.cv != "none" && s.cv != "pass" && s.cv != "fail" {
			return nil, fmt.Errorf("%w: cv=%.10q", errBadSig, s.cv)
		}
		return s, nil
	}
	if c, ok := tags.Lookup("c"); ok {
		h, b, _ := strings.Cut(strings.ToLower(c), "/")
		if b == "" {
			b = Simple // RFC 6376 3.5 c=: "relaxed" alone is relaxed/simple
		}
		if h != Simple && h != Relaxed || b != Simple && b != Relaxed {
			return nil, fmt.Errorf("%w: c=%.20q", errBadSig, c)
		}
		s.hdrCanon, s.bodyCanon = h, b
	} else {
		s.hdrCanon, s.bodyCanon = Simple, Simple // RFC 6376 3.5 default
	}
	if s.bodyHash, err = dkimcore.Decode64(tags.Get("bh")); err != nil || len(s.bodyHash) != crypto.SHA256.Size() {
		return nil, fmt.Errorf("%w: bh= is not a SHA-256 hash", errBadSig)
	}
	if l, ok := tags.Lookup("l"); ok {
		n, err := strconv.ParseInt(l, 10, 64)
		if err != nil || n < 0 || len(l) > 76 {
			return nil, fmt.Errorf("%w: l=%.20q", errBadSig, l)
		}
		s.bodyLength = n
	}
	for _, h := range strings.Split(tagvalue.StripFWS(tags.Get("h")), ":") {
		if h == "" {
			return nil, fmt.Errorf("%w: empty name in h=", errBadSig)
		}
		s.headers = append(s.headers, strings.ToLower(h))
	}
	// RFC 8617 4.1.2: the AMS must not sign ARC-Seal; RFC 6376 5.4: From
	// must be signed.
	hasFrom := false
	for _, h := range s.headers {
		switch h {
		case "arc-seal":
			return nil, fmt.Errorf("%w: h= signs ARC-Seal", errBadSig)
		case "from":
			hasFrom = true
		}
	}
	if !hasFrom {
		return nil, fmt.Errorf("%w: h= does not sign From", errBadSig)
	}
	return s, nil
}

// validDomain accepts a DNS name of letters, digits, hyphens and dots
// (labels 1 to 63 octets, 253 in all); underscores too, as some
// selectors and signing domains have them.
func validDomain(d string) bool {
	if d == "" || len(d) > 253 {
		return false
	}
	for _, label := range strings.Split(d, ".") {
		if label == "" || len(label) > 63 {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}

func validSelector(s string) bool { return validDomain(s) }
