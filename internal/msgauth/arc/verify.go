package arc

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"hash"
	"io"
	"mailwarden/internal/msgauth/dkimcore"
	"time"
)

// Status is the chain validation status (RFC 8617 4.4), or temperror
// when a key could not be fetched (RFC 8601 2.7: may succeed later).
type Status string

const (
	None      Status = "none"
	Pass      Status = "pass"
	Fail      Status = "fail"
	TempError Status = "temperror"
)

// Result is what Verify found.
type Result struct {
	Status Status
	// Reason says why the chain failed or could not be validated.
	Reason string
	// Instances is the highest instance on the message (0: no chain): a
	// seal adds Instances+1.
	Instances int
	// LatestCV is cv= of the most recent ARC-Seal ("" when none).
	LatestCV string
	// Sealers are the d= of each ARC-Seal, instance 1 first, when the
	// chain's structure is valid.
	Sealers []string
	// OldestAAR is the payload of the instance-1 AAR (after "i=1;"):
	// "authserv-id; results" as the first forwarder saw them.
	OldestAAR string
	// OldestPass is the lowest instance from which every AMS validated,
	// 0 when all did (RFC 8617 5.2 step 5); meaningful for pass.
	OldestPass int
}

// Verifier validates ARC chains.
type Verifier struct {
	Lookup  TXTLookup     // DNS TXT lookups (keys)
	Timeout time.Duration // per key lookup; 0: the lookup's own
}

// MaxKeys bounds the distinct keys (DNS lookups) one validation may
// fetch: a stranger's chain of 50 sets under 50 domains must not cost
// 100 lookups. A legitimate chain has a few hops.
const MaxKeys = 10

// maxBodyHashes bounds how many different body canonicalizations one
// message makes us compute (the AMS of each instance may differ).
const maxBodyHashes = 4

// Verify reads a message and validates its ARC chain (RFC 8617 5.2). The
// error is only for a message that could not be read; every finding
// about the chain is in the Result.
func (v *Verifier) Verify(ctx context.Context, r io.Reader) (*Result, error) {
	m, err := dkimcore.ReadMessage(r)
	if err != nil {
		return nil, err
	}
	fields := m.Fields()
	c := collect(fields)
	res := &Result{Status: None, Instances: c.max, LatestCV: c.latestCV()}
	fail := func(format string, args ...any) (*Result, error) {
		res.Status, res.Reason = Fail, fmt.Sprintf(format, args...)
		return res, nil
	}
	// Step 1: no sets, none.
	if c.max == 0 && c.broken == "" {
		return res, nil
	}
	// Step 2: the latest seal says fail.
	if res.LatestCV == "fail" {
		return fail("ARC-Seal i=%d has cv=fail", c.max)
	}
	// Step 3: structure.
	if c.broken != "" {
		return fail("%s", c.broken)
	}
	for i := 1; i <= c.max; i++ {
		s := c.sets[i]
		if s.asErr != nil {
			return fail("ARC-Seal i=%d: %v", i, s.asErr)
		}
		if want := map[bool]string{true: "none", false: "pass"}[i == 1]; s.asSig.cv != want {
			return fail("ARC-Seal i=%d has cv=%s, not %s", i, s.asSig.cv, want)
		}
		res.Sealers = append(res.Sealers, s.asSig.domain)
	}
	res.OldestAAR = c.sets[1].aarPayload
	latest := c.sets[c.max]
	if latest.amsErr != nil {
		return fail("ARC-Message-Signature i=%d: %v", c.max, latest.amsErr)
	}
	keys := keyCache{v: v, ctx: ctx, keys: map[string]keyResult{}}
	// One pass over the body for the AMS hashes we need: the latest
	// (step 4) and the older ones (step 5), as far as they parse.
	amsList := []*set{latest}
	for i := c.max - 1; i >= 1 && c.sets[i].amsErr == nil; i-- {
		amsList = append(amsList, c.sets[i])
	}
	bodies, err := bodyHashes(m.Body, amsList)
	if err != nil {
		return nil, err
	}
	// Step 4: the latest AMS.
	if err := keys.verifyAMS(fields, latest, bodies); err != nil {
		if errors.Is(err, dkimcore.ErrKeyTemp) {
			res.Status, res.Reason = TempError, err.Error()
			return res, nil
		}
		return fail("ARC-Message-Signature i=%d: %v", c.max, err)
	}
	// Step 6: every AS, latest first.
	for i := c.max; i >= 1; i-- {
		if err := keys.verifyAS(c, i); err != nil {
			if errors.Is(err, dkimcore.ErrKeyTemp) {
				res.Status, res.Reason = TempError, err.Error()
				return res, nil
			}
			return fail("ARC-Seal i=%d: %v", i, err)
		}
	}
	// Step 5 (optional, made after the seals so that its lookups never
	// crowd out theirs under MaxKeys): oldest-pass, counting down while
	// the AMSs validate.
	for _, s := range amsList[1:] {
		if err := keys.verifyAMS(fields, s, bodies); err != nil {
			res.OldestPass = s.instance + 1
			break
		}
	}
	if len(amsList) < c.max && res.OldestPass == 0 {
		res.OldestPass = amsList[len(amsList)-1].instance
	}
	// Step 7.
	res.Status = Pass
	return res, nil
}

type bodySpec struct {
	canon  string
	length int64
}

// bodyHashes streams the body once through each distinct body
// canonicalization the AMSs use (at most maxBodyHashes; others are not
// computed and their AMS fails).
func bodyHashes(body io.Reader, list []*set) (map[bodySpec][]byte, error) {
	type running struct {
		h hash.Hash
		c *dkimcore.BodyCanon
	}
	specs := map[bodySpec]*running{}
	var writers []io.Writer
	var canons []*dkimcore.BodyCanon
	for _, s := range list {
		sp := bodySpec{s.amsSig.bodyCanon, s.amsSig.bodyLength}
		if specs[sp] != nil || len(specs) == maxBodyHashes {
			continue
		}
		h := sha256.New()
		c := dkimcore.NewBodyCanon(h, sp.canon, sp.length)
		specs[sp] = &running{h, c}
		writers = append(writers, c)
		canons = append(canons, c)
	}
	if _, err := io.Copy(io.MultiWriter(writers...), body); err != nil {
		return nil, fmt.Errorf("arc: read body: %w", err)
	}
	out := make(map[bodySpec][]byte, len(specs))
	for sp, r := range specs {
		r.c.Close()
		out[sp] = r.h.Sum(nil)
	}
	return out, nil
}

type keyResult struct {
	key *dkimcore.PublicKey
	err error
}

// keyCache fetches each (domain, selector, type) once per message.
type keyCache struct {
	v    *Verifier
	ctx  context.Context
	keys map[string]keyResult
}

func (k *keyCache) get(s *signature) (*dkimcore.PublicKey, error) {
	id := s.selector + "._domainkey." + s.domain + "/" + s.keyType
	if r, ok := k.keys[id]; ok {
		return r.key, r.err
	}
	if len(k.keys) >= MaxKeys {
		return nil, fmt.Errorf("%w: more than %d signing keys in one chain", dkimcore.ErrKeyPerm, MaxKeys)
	}
	key, err := dkimcore.FetchKey(k.ctx, k.v.Lookup, k.v.Timeout, s.domain, s.selector, s.keyType)
	k.keys[id] = keyResult{key, err}
	return key, err
}

// verifyAMS validates one ARC-Message-Signature as a DKIM signature
// (RFC 8617 5.2 step 4: RFC 6376 6.1.3, without v= and with i=).
func (k *keyCache) verifyAMS(fields []dkimcore.Field, s *set, bodies map[bodySpec][]byte) error {
	sig := s.amsSig
	bh, ok := bodies[bodySpec{sig.bodyCanon, sig.bodyLength}]
	if !ok {
		return errors.New("too many body canonicalizations on one message")
	}
	if subtle.ConstantTimeCompare(bh, sig.bodyHash) != 1 {
		return errors.New("body hash did not verify")
	}
	h := sha256.New()
	dkimcore.HeaderHash(h, fields, sig.headers, sig.hdrCanon)
	dkimcore.SigField(h, s.ams, sig.hdrCanon)
	return k.check(sig, h.Sum(nil))
}

// verifyAS validates the ARC-Seal of instance i: it signs the sets 1..i
// in order, AAR, AMS then AS, relaxed, its own b= empty (RFC 8617 5.1.1).
func (k *keyCache) verifyAS(c *chain, i int) error {
	h := sha256.New()
	for j := 1; j <= i; j++ {
		s := c.sets[j]
		h.Write(dkimcore.CanonHeader(Relaxed, s.aar))
		h.Write(dkimcore.CanonHeader(Relaxed, s.ams))
		if j < i {
			h.Write(dkimcore.CanonHeader(Relaxed, s.as))
		}
	}
	dkimcore.SigField(h, c.sets[i].as, Relaxed)
	return k.check(c.sets[i].asSig, h.Sum(nil))
}

func (k *keyCache) check(sig *signature, digest []byte) error {
	key, err := k.get(sig)
	if err != nil {
		return err
	}
	if err := key.Verify(digest, sig.sig); err != nil {
		return fmt.Errorf("signature did not verify (d=%s s=%s)", sig.domain, sig.selector)
	}
	return nil
}
