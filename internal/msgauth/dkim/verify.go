package dkim

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	msgdkim "github.com/emersion/go-msgauth/dkim"

	"mailwarden/internal/dnsx"
	"mailwarden/internal/envelope"
	"mailwarden/internal/mime"
)

// VerifyConfig tunes a Verifier.
type VerifyConfig struct {
	// MaxSignatures is how many DKIM-Signature fields are verified, top
	// first; the rest are ignored (0: DefaultMaxSignatures).
	MaxSignatures int
	// LookupTimeout bounds one key lookup (0: 10 seconds).
	LookupTimeout time.Duration
}

// DefaultMaxSignatures is OpenDKIM's MaximumSignaturesToVerify default.
const DefaultMaxSignatures = 3

// Verifier checks the DKIM signatures of messages.
type Verifier struct {
	dns     dnsx.Full
	cache   *TXTCache
	max     int
	timeout time.Duration
}

// NewVerifier returns a verifier looking keys up through dns (nil: every
// lookup is a temporary error) and cache (nil: none).
func NewVerifier(dns dnsx.Full, cache *TXTCache, c VerifyConfig) *Verifier {
	if c.MaxSignatures <= 0 {
		c.MaxSignatures = DefaultMaxSignatures
	}
	if c.LookupTimeout <= 0 {
		c.LookupTimeout = 10 * time.Second
	}
	return &Verifier{dns: dns, cache: cache, max: c.MaxSignatures, timeout: c.LookupTimeout}
}

// tempError is what LookupTXT returns for a DNS failure that may pass:
// go-msgauth turns a net.Error that is Temporary into a temperror.
type tempError struct{ err error }

func (e tempError) Error() string   { return e.err.Error() }
func (e tempError) Timeout() bool   { return false }
func (e tempError) Temporary() bool { return true }

// sigInfo is what Mailwarden reads of one DKIM-Signature itself.
type sigInfo struct {
	tags   Tags
	err    error // the tag list does not parse
	policy string
}

// Verify checks every DKIM-Signature of the message in r (header and
// body) and returns one "dkim" result per signature verified, top first
// (RFC 8601 2.7.1), or one dkim=none when there is none. An error means
// the message could not be read.
func (v *Verifier) Verify(ctx context.Context, r io.Reader) ([]envelope.AuthResult, error) {
	br := bufio.NewReader(r)
	head, err := readHead(br)
	if err != nil {
		return nil, err
	}
	h, _ := mime.ParseHeader(head)
	var sigs []sigInfo
	for _, val := range h.Values("DKIM-Signature") {
		var si sigInfo
		si.tags, si.err = ParseTags(mime.Unfold([]byte(val)))
		if si.err == nil {
			si.policy = policyReason(si.tags)
		}
		sigs = append(sigs, si)
	}
	if len(sigs) == 0 {
		return []envelope.AuthResult{{Method: "dkim", Result: "none"}}, nil
	}
	if len(sigs) > v.max {
		sigs = sigs[:v.max]
	}
	records := &recordLog{m: map[string]string{}}
	opts := &msgdkim.VerifyOptions{
		MaxVerifications: v.max,
		LookupTXT: func(name string) ([]string, error) {
			txts, err := v.lookup(ctx, name)
			if err == nil && len(txts) == 1 {
				records.put(name, txts[0])
			}
			return txts, err
		},
	}
	// go-msgauth refuses signatures with a body length limit l=; those
	// are verified here, their body hashes fed as the body streams past.
	lsigs, fields := lengthSigs(head, sigs)
	var body io.Reader = br
	if w := lengthWriter(lsigs); w != nil {
		body = io.TeeReader(br, w)
	}
	verifs, err := msgdkim.VerifyWithOptions(io.MultiReader(bytes.NewReader(head), body), opts)
	if len(lsigs) > 0 {
		// go-msgauth may stop reading early; the l= hashes need all.
		if _, err := io.Copy(io.Discard, body); err != nil {
			return nil, fmt.Errorf("dkim: read message: %w", err)
		}
	}
	if err != nil && !errors.Is(err, msgdkim.ErrTooManySignatures) {
		// The message itself could not be taken apart (a header without
		// the empty line that ends it): no signature can verify.
		verifs = nil
		for range sigs {
			verifs = append(verifs, &msgdkim.Verification{Err: permError(err.Error())})
		}
	}
	out := make([]envelope.AuthResult, 0, len(sigs))
	for i, si := range sigs {
		var ve *msgdkim.Verification
		if i < len(verifs) {
			ve = verifs[i]
		}
		out = append(out, result(si, ve, records))
	}
	for _, ls := range lsigs {
		out[ls.idx] = v.finishLength(ctx, ls, fields, records, time.Now())
	}
	return out, nil
}

// permError is a permanent failure found before go-msgauth could judge.
type permError string

func (e permError) Error() string { return string(e) }

// policyReason is why a signature that may verify is still not accepted
// (RFC 8601 2.7.1 "policy"), "" when it is acceptable.
func policyReason(t Tags) string {
	if strings.EqualFold(t["a"], "rsa-sha1") {
		return "rsa-sha1 is not accepted (RFC 8301)"
	}
	return ""
}

// result turns one verification into an Authentication-Results entry.
func result(si sigInfo, ve *msgdkim.Verification, records *recordLog) envelope.AuthResult {
	r := envelope.AuthResult{Method: "dkim"}
	if si.err != nil {
		r.Result, r.Reason = "permerror", trimPrefix(si.err)
		return r
	}
	t := si.tags
	if d := t["d"]; d != "" {
		// Domain names compare without case; DMARC aligns on this value.
		r.Props = append(r.Props, envelope.AuthProp{Type: "header", Name: "d", Value: strings.ToLower(strings.TrimSuffix(d, "."))})
	}
	if i := t["i"]; i != "" {
		r.Props = append(r.Props, envelope.AuthProp{Type: "header", Name: "i", Value: i})
	}
	if s := t["s"]; s != "" {
		r.Props = append(r.Props, envelope.AuthProp{Type: "header", Name: "s", Value: s})
	}
	if a := t["a"]; a != "" {
		r.Props = append(r.Props, envelope.AuthProp{Type: "header", Name: "a", Value: a})
	}
	if b := t["b"]; b != "" {
		// RFC 6008 3: enough of b= to tell signatures apart.
		r.Props = append(r.Props, envelope.AuthProp{Type: "header", Name: "b", Value: b[:min(8, len(b))]})
	}
	key, _ := ParseTags(records.get(t["s"] + "._domainkey." + t["d"]))
	flags := key.Flags()
	if slices.Contains(flags, "y") {
		r.Comment = "key in test mode (t=y)"
	}
	switch {
	case si.policy != "":
		r.Result, r.Reason = "policy", si.policy
	case ve == nil:
		r.Result, r.Reason = "temperror", "not verified"
	case ve.Err == nil:
		r.Result = "pass"
		if slices.Contains(flags, "s") && !sameDomainIdentity(t["i"], t["d"]) {
			// RFC 6376 3.6.1 t=s: i= must be in d= itself, not a subdomain.
			r.Result, r.Reason = "permerror", "key has t=s but i= is in a subdomain of d="
		}
	case msgdkim.IsTempFail(ve.Err) || isTemp(ve.Err):
		r.Result, r.Reason = "temperror", trimPrefix(ve.Err)
	case msgdkim.IsPermFail(ve.Err) || isPermError(ve.Err):
		r.Result, r.Reason = "permerror", trimPrefix(ve.Err)
	default:
		r.Result, r.Reason = "fail", trimPrefix(ve.Err)
	}
	return r
}

func sameDomainIdentity(i, d string) bool {
	if i == "" {
		return true
	}
	at := strings.LastIndexByte(i, '@')
	return strings.EqualFold(i[at+1:], d)
}

func trimPrefix(err error) string { return strings.TrimPrefix(err.Error(), "dkim: ") }

// recordLog remembers the key records fetched while verifying one
// message, for their t= flags.
type recordLog struct {
	mu sync.Mutex
	m  map[string]string
}

func (l *recordLog) put(name, txt string) {
	l.mu.Lock()
	l.m[strings.ToLower(name)] = txt
	l.mu.Unlock()
}

func (l *recordLog) get(name string) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.m[strings.ToLower(name)]
}

// lookup asks for a key record through the cache.
func (v *Verifier) lookup(ctx context.Context, name string) ([]string, error) {
	if v.dns == nil {
		return nil, tempError{errors.New("no DNS resolver")}
	}
	ctx, cancel := context.WithTimeout(ctx, v.timeout)
	defer cancel()
	txts, err := v.cache.Lookup(ctx, v.dns, name)
	switch {
	case errors.Is(err, dnsx.ErrNotFound):
		return nil, fmt.Errorf("no key record at %s", name)
	case err != nil:
		return nil, tempError{err}
	}
	return txts, nil
}

func isTemp(err error) bool {
	var t tempError
	return errors.As(err, &t)
}

func isPermError(err error) bool {
	var p permError
	return errors.As(err, &p)
}
