package arc

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"mailwarden/internal/msgauth/dkimcore"
	"strconv"
	"strings"
	"time"
)

// DefaultHeaders are the fields an ARC-Message-Signature signs when they
// are present (each instance of them): what a forwarder must not change.
var DefaultHeaders = []string{"From", "To", "Cc", "Subject", "Date", "Message-ID", "Reply-To",
	"In-Reply-To", "References", "Sender", "MIME-Version", "Content-Type",
	"Content-Transfer-Encoding", "DKIM-Signature", "List-Id", "List-Unsubscribe", "List-Post"}

// ErrNotSealable means the message must not get another ARC set: its
// chain ended in cv=fail, it has MaxInstances sets, or its chain could
// not be validated now.
var ErrNotSealable = errors.New("arc: message not sealable")

// Sealer adds ARC sets.
type Sealer struct {
	Domain   string        // d=
	Selector string        // s=
	Key      crypto.Signer // *rsa.PrivateKey or ed25519.PrivateKey
	Headers  []string      // signed by the AMS when present; nil: DefaultHeaders
	Now      func() time.Time
}

// Seal reads a message and returns the three fields of its next ARC set,
// top first: ARC-Seal, ARC-Message-Signature, ARC-Authentication-Results
// (RFC 8617 5.1), each folded with CRLF and without a final CRLF. chain
// is the Verify result of the message as it came in; authservID and
// results make the AAR ("i=N; authservID;" results, results being what
// follows the authserv-id in our Authentication-Results, its leading
// ";" excluded).
func (s *Sealer) Seal(r io.Reader, chain *Result, authservID, results string) ([]string, error) {
	algo, err := s.algorithm()
	if err != nil {
		return nil, err
	}
	m, err := dkimcore.ReadMessage(r)
	if err != nil {
		return nil, err
	}
	fields := m.Fields()
	c := collect(fields)
	// RFC 8617 5.1.2: the chain status from validation; a chain that
	// already failed is not sealed again.
	var cv string
	switch {
	case c.latestCV() == "fail":
		return nil, fmt.Errorf("%w: the chain already failed (i=%d cv=fail)", ErrNotSealable, c.max)
	case chain == nil || chain.Status == TempError:
		return nil, fmt.Errorf("%w: chain not validated", ErrNotSealable)
	case chain.Status == Pass && c.max > 0 && c.broken == "":
		cv = "pass"
	case chain.Status == None && c.max == 0:
		cv = "none"
	default:
		cv = "fail"
	}
	n := c.max + 1
	if n > MaxInstances {
		return nil, fmt.Errorf("%w: %d ARC sets already", ErrNotSealable, c.max)
	}
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	t := strconv.FormatInt(now().Unix(), 10)

	if results == "" {
		results = " none"
	}
	aar := "ARC-Authentication-Results: i=" + strconv.Itoa(n) + "; " + authservID + ";" + results

	// The AMS: a DKIM signature of the message as it leaves (4.1.2).
	bh := sha256.New()
	bc := dkimcore.NewBodyCanon(bh, Relaxed, -1)
	if _, err := io.Copy(bc, m.Body); err != nil {
		return nil, fmt.Errorf("arc: read body: %w", err)
	}
	bc.Close()
	names := s.signedNames(fields)
	ams := "ARC-Message-Signature: i=" + strconv.Itoa(n) + "; a=" + algo + "; c=relaxed/relaxed;\r\n" +
		"\td=" + s.Domain + "; s=" + s.Selector + "; t=" + t + ";\r\n" +
		foldList("h=", names) + ";\r\n" +
		"\tbh=" + base64.StdEncoding.EncodeToString(bh.Sum(nil)) + ";\r\n\tb="
	h := sha256.New()
	dkimcore.HeaderHash(h, fields, lower(names), Relaxed)
	dkimcore.SigField(h, []byte(ams), Relaxed)
	sig, err := s.sign(h.Sum(nil))
	if err != nil {
		return nil, err
	}
	ams += fold64(sig)

	// The AS signs the chain (all sets, or only its own when cv=fail,
	// RFC 8617 5.1.2) with this set last, its own b= empty.
	as := "ARC-Seal: i=" + strconv.Itoa(n) + "; a=" + algo + "; t=" + t + "; cv=" + cv + ";\r\n" +
		"\td=" + s.Domain + "; s=" + s.Selector + ";\r\n\tb="
	h.Reset()
	if cv != "fail" {
		for j := 1; j < n; j++ {
			set := c.sets[j]
			h.Write(dkimcore.CanonHeader(Relaxed, set.aar))
			h.Write(dkimcore.CanonHeader(Relaxed, set.ams))
			h.Write(dkimcore.CanonHeader(Relaxed, set.as))
		}
	}
	h.Write(dkimcore.CanonHeader(Relaxed, []byte(aar)))
	h.Write(dkimcore.CanonHeader(Relaxed, []byte(ams)))
	dkimcore.SigField(h, []byte(as), Relaxed)
	if sig, err = s.sign(h.Sum(nil)); err != nil {
		return nil, err
	}
	as += fold64(sig)
	return []string{as, ams, aar}, nil
}

func (s *Sealer) algorithm() (string, error) {
	if s.Key == nil {
		return "", errors.New("arc: no sealing key")
	}
	if !validDomain(s.Domain) || !validSelector(s.Selector) {
		return "", fmt.Errorf("arc: bad sealing domain %q or selector %q", s.Domain, s.Selector)
	}
	switch s.Key.Public().(type) {
	case *rsa.PublicKey:
		return RSASHA256, nil
	case ed25519.PublicKey:
		return Ed25519SHA256, nil
	}
	return "", fmt.Errorf("arc: sealing key of type %T not supported", s.Key.Public())
}

func (s *Sealer) sign(digest []byte) ([]byte, error) {
	var opts crypto.SignerOpts = crypto.SHA256
	if _, ok := s.Key.Public().(ed25519.PublicKey); ok {
		opts = crypto.Hash(0) // RFC 8463 3: Ed25519 over the SHA-256 hash
	}
	sig, err := s.Key.Sign(rand.Reader, digest, opts)
	if err != nil {
		return nil, fmt.Errorf("arc: sign: %w", err)
	}
	return sig, nil
}

// signedNames lists the configured names once per instance present in
// the header, From always (RFC 6376 5.4).
func (s *Sealer) signedNames(fields []dkimcore.Field) []string {
	want := s.Headers
	if want == nil {
		want = DefaultHeaders
	}
	var names []string
	hasFrom := false
	for _, w := range want {
		lw := strings.ToLower(w)
		if lw == nameAS || lw == "authentication-results" {
			continue
		}
		for _, f := range fields {
			if f.Name == lw {
				names = append(names, w)
			}
		}
		hasFrom = hasFrom || lw == "from"
	}
	if !hasFrom {
		names = append([]string{"From"}, names...)
	}
	return names
}

func lower(names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = strings.ToLower(n)
	}
	return out
}

// foldList writes tag + names joined by ":", folded before 78 columns.
func foldList(tag string, names []string) string {
	var b strings.Builder
	b.WriteString("\t" + tag)
	col := 1 + len(tag)
	for i, n := range names {
		if i > 0 {
			b.WriteByte(':')
			col++
		}
		if col+len(n) > 76 {
			b.WriteString("\r\n\t ")
			col = 2
		}
		b.WriteString(n)
		col += len(n)
	}
	return b.String()
}

// fold64 writes a signature in base64, 72 characters a line.
func fold64(sig []byte) string {
	s := base64.StdEncoding.EncodeToString(sig)
	var b strings.Builder
	for len(s) > 72 {
		b.WriteString(s[:72])
		b.WriteString("\r\n\t ")
		s = s[72:]
	}
	b.WriteString(s)
	return b.String()
}
