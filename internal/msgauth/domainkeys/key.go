package domainkeys

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"mailwarden/internal/dnsx"
	"mailwarden/internal/msgauth/tagvalue"
)

// RSA key sizes accepted (RFC 4870 allows 512 bits; keys that short are
// factorable today, so the floor is RFC 8301's 1024).
const (
	MinRSABits = 1024
	MaxRSABits = 8192
)

// TXTLookup fetches the TXT records at name; errors wrap
// dnsx.ErrNotFound or dnsx.ErrTemporary.
type TXTLookup func(ctx context.Context, name string) ([]string, error)

var (
	errKeyPerm = errors.New("no usable key")
	errKeyTemp = errors.New("key lookup failed temporarily")
)

// key is a DomainKeys public key record (RFC 4870 3.2.3).
type key struct {
	pub         *rsa.PublicKey
	granularity string // g=, "" or "*" for any local part
	testing     bool   // t=y
}

func fetchKey(ctx context.Context, lookup TXTLookup, timeout time.Duration, domain, selector string) (*key, error) {
	if lookup == nil {
		return nil, fmt.Errorf("%w: no resolver", errKeyTemp)
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
			return nil, fmt.Errorf("%w at %s", errKeyPerm, name)
		}
		return nil, fmt.Errorf("%w: %s: %w", errKeyTemp, name, err)
	}
	last := fmt.Errorf("%w at %s", errKeyPerm, name)
	for _, txt := range txts {
		k, err := parseKey(txt)
		if err == nil {
			return k, nil
		}
		last = fmt.Errorf("%w at %s: %w", errKeyPerm, name, err)
	}
	return nil, last
}

// parseKey reads g=, k=, p= and t= (RFC 4870 3.2.3); other tags (v=DKIM1
// of a DKIM record the same key serves, n=) are ignored.
func parseKey(txt string) (*key, error) {
	tags, err := tagvalue.Parse(txt)
	if err != nil {
		return nil, err
	}
	if k := tags.Get("k"); k != "" && !strings.EqualFold(k, "rsa") {
		return nil, fmt.Errorf("key type %.10q", k)
	}
	p, ok := tags.Lookup("p")
	if !ok {
		return nil, errors.New("no p= tag")
	}
	p = tagvalue.StripFWS(p)
	if p == "" {
		return nil, errors.New("key revoked (empty p=)")
	}
	der, err := base64.StdEncoding.DecodeString(p)
	if err != nil {
		return nil, fmt.Errorf("p= is not base64: %w", err)
	}
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
	k := &key{pub: pub, granularity: tags.Get("g")}
	for _, f := range strings.Split(tags.Get("t"), ":") {
		if strings.EqualFold(strings.TrimSpace(f), "y") {
			k.testing = true
		}
	}
	return k, nil
}

// allows reports whether the key's granularity (g=, "*" wildcards)
// admits the sender's local part (RFC 4870 3.2.3).
func (k *key) allows(local string) bool {
	if k.granularity == "" || k.granularity == "*" {
		return true
	}
	return wildcard(k.granularity, local)
}

// wildcard matches s against a pattern with at most one "*".
func wildcard(pattern, s string) bool {
	before, after, star := strings.Cut(pattern, "*")
	if !star {
		return pattern == s
	}
	return len(s) >= len(before)+len(after) && strings.HasPrefix(s, before) && strings.HasSuffix(s, after)
}
