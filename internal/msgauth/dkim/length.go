package dkim

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"hash"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	msgdkim "github.com/emersion/go-msgauth/dkim"

	"mailwarden/internal/envelope"
	"mailwarden/internal/msgauth/dkimcore"
)

// lengthSig is a DKIM-Signature with a body length limit l=, which
// go-msgauth refuses and Mailwarden verifies itself (RFC 6376 3.5, 6.1).
type lengthSig struct {
	idx      int // among the message's DKIM-Signature fields, top first
	raw      []byte
	tags     Tags
	limit    int64
	hdrCanon string
	keyType  string
	headers  []string // h=, lower case
	body     *dkimcore.BodyCanon
	bh       hash.Hash
	err      error // a problem found before hashing: permerror
}

// newLengthSig reads what verifying sig needs and starts its body hash.
func newLengthSig(idx int, raw []byte, t Tags) *lengthSig {
	s := &lengthSig{idx: idx, raw: raw, tags: t}
	s.err = s.parse()
	if s.err == nil {
		s.bh = sha256.New()
		bodyCanon := dkimcore.Simple
		if _, b, ok := strings.Cut(t["c"], "/"); ok {
			bodyCanon = strings.ToLower(b)
		}
		s.body = dkimcore.NewBodyCanon(s.bh, bodyCanon, s.limit)
	}
	return s
}

// parse checks the tags RFC 6376 6.1.1 requires of a signature.
func (s *lengthSig) parse() error {
	t := s.tags
	if t["v"] != "1" {
		return errors.New("v= is not 1")
	}
	for _, name := range []string{"a", "b", "bh", "d", "h", "s"} {
		if t[name] == "" {
			return fmt.Errorf("no %s= tag", name)
		}
	}
	switch strings.ToLower(t["a"]) {
	case "rsa-sha256":
		s.keyType = "rsa"
	case "ed25519-sha256":
		s.keyType = "ed25519"
	default:
		return fmt.Errorf("unsupported algorithm a=%.20s", t["a"])
	}
	// RFC 6376 3.5: l= is at most 76 decimal digits; more than an int64
	// holds is longer than any body Mailwarden accepts.
	l := t["l"]
	if l == "" || len(l) > 76 || strings.Trim(l, "0123456789") != "" {
		return fmt.Errorf("l=%.20s is not a number", l)
	}
	n, err := strconv.ParseInt(l, 10, 64)
	if err != nil {
		n = 1<<63 - 1
	}
	s.limit = n
	hc, bc, _ := strings.Cut(strings.ToLower(t["c"]), "/")
	if hc == "" {
		hc = dkimcore.Simple
	}
	if bc == "" {
		bc = dkimcore.Simple
	}
	for _, c := range []string{hc, bc} {
		if c != dkimcore.Simple && c != dkimcore.Relaxed {
			return fmt.Errorf("unknown canonicalization c=%.20s", t["c"])
		}
	}
	s.hdrCanon = hc
	for _, name := range strings.Split(t["h"], ":") {
		s.headers = append(s.headers, strings.ToLower(strings.TrimSpace(name)))
	}
	if !slices.Contains(s.headers, "from") {
		return errors.New("h= does not sign From")
	}
	if i := t["i"]; i != "" {
		at := strings.LastIndexByte(i, '@')
		dom := strings.ToLower(strings.TrimSuffix(i[at+1:], "."))
		d := strings.ToLower(strings.TrimSuffix(t["d"], "."))
		if at < 0 || dom != d && !strings.HasSuffix(dom, "."+d) {
			return errors.New("i= is not in d=")
		}
	}
	return nil
}

// lengthSigs picks the signatures with l= among the first max
// DKIM-Signature fields of the header, and returns the header's fields
// when there is one.
func lengthSigs(head []byte, sigs []sigInfo) (out []*lengthSig, fields []dkimcore.Field) {
	var raws [][]byte
	for i, si := range sigs {
		if si.err != nil || si.policy != "" {
			continue
		}
		if _, ok := si.tags["l"]; !ok {
			continue
		}
		if raws == nil {
			m, err := dkimcore.ReadMessage(bytes.NewReader(head))
			if err != nil {
				return nil, nil
			}
			fields = m.Fields()
			raws = [][]byte{}
			for _, f := range fields {
				if f.Name == "dkim-signature" {
					raws = append(raws, f.Raw)
				}
			}
		}
		if i < len(raws) {
			out = append(out, newLengthSig(i, raws[i], si.tags))
		}
	}
	return out, fields
}

// lengthWriter is where the body goes for the l= signatures as it
// streams past go-msgauth.
func lengthWriter(list []*lengthSig) io.Writer {
	var ws []io.Writer
	for _, s := range list {
		if s.body != nil {
			ws = append(ws, s.body)
		}
	}
	if len(ws) == 0 {
		return nil
	}
	return io.MultiWriter(ws...)
}

// finish completes the verification of one l= signature once the body
// has gone through, and returns its result.
func (v *Verifier) finishLength(ctx context.Context, s *lengthSig, fields []dkimcore.Field, records *recordLog, now time.Time) envelope.AuthResult {
	si := sigInfo{tags: s.tags}
	var ve error
	switch {
	case s.err != nil:
		ve = permError(s.err.Error())
	default:
		ve = v.checkLength(ctx, s, fields, records, now)
	}
	r := result(si, &msgdkim.Verification{Err: ve}, records)
	if r.Result == "pass" {
		if extra := s.body.Total() - s.limit; extra > 0 {
			// RFC 6376 8.2: what follows l= is not signed and could be
			// anything (a replayed message with new content): the
			// signature holds, but does not vouch for this message.
			r.Result, r.Reason = "policy", fmt.Sprintf("%d body octets after l=%d are unsigned", extra, s.limit)
		} else {
			r.Comment = strings.TrimPrefix(r.Comment+"; l= covers the whole body", "; ")
		}
	}
	return r
}

// checkLength verifies the body hash and the signature of s.
func (v *Verifier) checkLength(ctx context.Context, s *lengthSig, fields []dkimcore.Field, records *recordLog, now time.Time) error {
	s.body.Close()
	if s.body.Total() < s.limit {
		// RFC 6376 6.1.3: l= longer than the body fails the signature.
		return permError(fmt.Sprintf("l=%d is more than the body's %d octets", s.limit, s.body.Total()))
	}
	if x := s.tags["x"]; x != "" {
		if exp, err := strconv.ParseInt(x, 10, 64); err == nil && now.Unix() > exp {
			return fmt.Errorf("signature has expired")
		}
	}
	want, err := dkimcore.Decode64(s.tags["bh"])
	if err != nil {
		return permError("bh= is not base64")
	}
	if subtle.ConstantTimeCompare(s.bh.Sum(nil), want) != 1 {
		return errors.New("body hash did not verify")
	}
	sig, err := dkimcore.Decode64(s.tags["b"])
	if err != nil {
		return permError("b= is not base64")
	}
	h := sha256.New()
	dkimcore.HeaderHash(h, fields, s.headers, s.hdrCanon)
	dkimcore.SigField(h, s.raw, s.hdrCanon)
	var lookup dkimcore.TXTLookup
	if v.dns != nil {
		lookup = func(ctx context.Context, name string) ([]string, error) {
			txts, err := v.cache.Lookup(ctx, v.dns, name)
			if err == nil && len(txts) == 1 {
				records.put(name, txts[0])
			}
			return txts, err
		}
	}
	key, err := dkimcore.FetchKey(ctx, lookup, v.timeout, s.tags["d"], s.tags["s"], s.keyType)
	switch {
	case errors.Is(err, dkimcore.ErrKeyTemp):
		return tempError{err}
	case err != nil:
		return permError(strings.TrimPrefix(err.Error(), "dkim: "))
	}
	if err := key.Verify(h.Sum(nil), sig); err != nil {
		return errors.New("signature did not verify")
	}
	return nil
}
