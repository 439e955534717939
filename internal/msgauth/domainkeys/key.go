package domainkeys

import (
	"context"
	"crypto/rsa"
	"errors"
	"fmt"
	"strings"
	"time"

	"mailwarden/internal/msgauth/dkimcore"
	"mailwarden/internal/msgauth/tagvalue"
)

// TXTLookup fetches the TXT records at name; errors wrap
// dnsx.ErrNotFound or dnsx.ErrTemporary.
type TXTLookup = dkimcore.TXTLookup

// key is a DomainKeys public key record (RFC 4870 3.2.3).
type key struct {
	pub         *rsa.PublicKey
	granularity string // g=, "" or "*" for any local part
	testing     bool   // t=y
}

// fetchKey looks the key up where DKIM's are (RFC 4870 3.2.2). RSA keys
// shorter than RFC 8301's 1024 bits are refused (RFC 4870 allows 512,
// factorable today).
func fetchKey(ctx context.Context, lookup TXTLookup, timeout time.Duration, domain, selector string) (*key, error) {
	return dkimcore.FetchRecord(ctx, lookup, timeout, domain, selector, parseKey)
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
	if tagvalue.StripFWS(p) == "" {
		return nil, errors.New("key revoked (empty p=)")
	}
	der, err := dkimcore.Decode64(p)
	if err != nil {
		return nil, fmt.Errorf("p= is not base64: %w", err)
	}
	pub, err := dkimcore.ParseRSA(der)
	if err != nil {
		return nil, err
	}
	return &key{pub: pub, granularity: tags.Get("g"), testing: dkimcore.HasFlag(tags.Get("t"), "y")}, nil
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
