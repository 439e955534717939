package domainkeys

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"io"
	"mailwarden/internal/msgauth/dkimcore"
	"strings"
	"time"

	"mailwarden/internal/msgauth/tagvalue"
)

// MaxSignatures is how many DomainKey-Signature fields of one message
// are checked; the rest are ignored.
const MaxSignatures = 3

// Result is the outcome for one DomainKey-Signature, in the words of
// RFC 8601 2.7.1 (the "domainkeys" method).
type Result struct {
	// Status: pass, fail, neutral (the signature could not be
	// processed), permerror (no usable key, no sender), temperror.
	Status string
	Reason string
	Domain string // d=
	// Sender is the signing identity: the Sender address, else From;
	// SenderHeader says which ("sender" or "from").
	Sender       string
	SenderHeader string
	Testing      bool // the key has t=y
}

// Verifier checks DomainKey-Signature fields.
type Verifier struct {
	Lookup  TXTLookup
	Timeout time.Duration // per key lookup; 0: the lookup's own
}

type pending struct {
	res   *Result
	sig   []byte
	key   *key
	h     hash.Hash
	canon *bodyCanon
}

// Verify reads a message and checks each of its first MaxSignatures
// DomainKey-Signature fields; none means the message has none. The error
// is only for a message that could not be read.
func (v *Verifier) Verify(ctx context.Context, r io.Reader) ([]Result, error) {
	fields, body, err := readHeader(r)
	if err != nil {
		return nil, err
	}
	var out []*Result
	var live []*pending
	for i, f := range fields {
		if f.name != "domainkey-signature" {
			continue
		}
		if len(out) == MaxSignatures {
			break
		}
		res := &Result{}
		out = append(out, res)
		if p := v.prepare(ctx, res, f.raw, fields[i+1:]); p != nil {
			live = append(live, p)
		}
	}
	if len(live) > 0 {
		ws := make([]io.Writer, len(live))
		for i, p := range live {
			ws[i] = p.canon
		}
		if _, err := io.Copy(io.MultiWriter(ws...), body); err != nil {
			return nil, fmt.Errorf("domainkeys: read body: %w", err)
		}
		for _, p := range live {
			p.canon.Close()
			// RFC 4870 3.5: RSA-SHA1 over the canonical message.
			if err := rsa.VerifyPKCS1v15(p.key.pub, crypto.SHA1, p.h.Sum(nil), p.sig); err != nil {
				p.res.Status, p.res.Reason = "fail", "signature did not verify"
			} else {
				p.res.Status = "pass"
			}
		}
	}
	results := make([]Result, len(out))
	for i, r := range out {
		results[i] = *r
	}
	return results, nil
}

// prepare checks one signature as far as it can before the body: its
// tags, the sender rule, the key; it hashes the signed header fields
// (those below it, RFC 4870 3.3) and returns what the body must finish,
// or nil with res filled in.
func (v *Verifier) prepare(ctx context.Context, res *Result, raw []byte, below []field) *pending {
	_, value, _ := strings.Cut(string(raw), ":")
	tags, err := tagvalue.Parse(value)
	if err != nil {
		res.Status, res.Reason = "neutral", err.Error()
		return nil
	}
	for _, t := range []string{"b", "d", "s"} {
		if _, ok := tags.Lookup(t); !ok {
			res.Status, res.Reason = "neutral", "no "+t+"= tag"
			return nil
		}
	}
	res.Domain = strings.ToLower(strings.TrimSuffix(tags.Get("d"), "."))
	if a, ok := tags.Lookup("a"); ok && !strings.EqualFold(a, "rsa-sha1") {
		res.Status, res.Reason = "neutral", fmt.Sprintf("algorithm %.20q", a)
		return nil
	}
	if q, ok := tags.Lookup("q"); ok && !strings.EqualFold(q, "dns") {
		res.Status, res.Reason = "neutral", fmt.Sprintf("query method %.20q", q)
		return nil
	}
	canon := strings.ToLower(tags.Get("c"))
	if canon == "" {
		canon = Simple
	}
	if canon != Simple && canon != NoFWS {
		res.Status, res.Reason = "neutral", fmt.Sprintf("canonicalization %.20q", canon)
		return nil
	}
	sig, err := base64.StdEncoding.DecodeString(tagvalue.StripFWS(tags.Get("b")))
	if err != nil || len(sig) == 0 {
		res.Status, res.Reason = "neutral", "b= is not base64"
		return nil
	}
	selector := tags.Get("s")
	if !validName(res.Domain) || !validName(selector) {
		res.Status, res.Reason = "neutral", "bad d= or s="
		return nil
	}
	signed := below
	if h, ok := tags.Lookup("h"); ok {
		// RFC 4870 3.4.2.1: only the fields named in h=, in the order
		// they appear in the message.
		names := map[string]bool{}
		for _, n := range strings.Split(tagvalue.StripFWS(h), ":") {
			names[strings.ToLower(n)] = true
		}
		signed = nil
		for _, f := range below {
			if names[f.name] {
				signed = append(signed, f)
			}
		}
	}
	// RFC 4870 3.3: the signing domain is the sender's domain or a
	// parent of it; the sender is Sender, else From, among the signed
	// fields.
	addr, hdr, err := sender(signed)
	res.SenderHeader = hdr
	if err != nil {
		res.Status, res.Reason = "permerror", err.Error()
		return nil
	}
	res.Sender = addr
	at := strings.LastIndexByte(addr, '@')
	local, domain := addr[:max(at, 0)], strings.ToLower(addr[at+1:])
	if domain != res.Domain && !strings.HasSuffix(domain, "."+res.Domain) {
		res.Status, res.Reason = "neutral", fmt.Sprintf("%s is not in d=%s", addr, res.Domain)
		return nil
	}
	k, err := fetchKey(ctx, v.Lookup, v.Timeout, res.Domain, selector)
	if err != nil {
		res.Status, res.Reason = "permerror", err.Error()
		if errors.Is(err, dkimcore.ErrKeyTemp) {
			res.Status = "temperror"
		}
		return nil
	}
	res.Testing = k.testing
	if !k.allows(local) {
		res.Status, res.Reason = "neutral", "key granularity g= does not allow "+addr
		return nil
	}
	h := sha1.New()
	for _, f := range signed {
		h.Write(canonHeader(canon, f.raw))
	}
	return &pending{res: res, sig: sig, key: k, h: h, canon: newBodyCanon(h, canon)}
}

func validName(d string) bool {
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
