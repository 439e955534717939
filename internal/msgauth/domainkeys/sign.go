package domainkeys

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strings"
)

// DefaultHeaders are the fields a signature names in h= when present:
// what the author wrote, not the trace or other signatures that hops
// add (a field added below the signature later would break it).
var DefaultHeaders = []string{"From", "Sender", "Reply-To", "Subject", "Date", "Message-ID", "To", "Cc",
	"MIME-Version", "Content-Type", "Content-Transfer-Encoding", "In-Reply-To", "References"}

// Signer makes DomainKey-Signature fields.
type Signer struct {
	// Domains are the signing domains: a message is signed for the first
	// one its sender (Sender, else From) is in or below.
	Domains  []string
	Selector string
	Key      crypto.Signer // an RSA key (RFC 4870 knows only rsa-sha1)
	Canon    string        // NoFWS (dkimproxy's default for DomainKeys) or Simple; "": NoFWS
	Headers  []string      // nil: DefaultHeaders
}

// ErrNotSender means the message's sender (Sender, else From) is in
// none of the signing domains, so a signature would not verify (RFC 4870
// 3.3): the message is not signed.
var ErrNotSender = errors.New("domainkeys: sender not in a signing domain")

// Sign reads a message and returns its DomainKey-Signature field, folded
// with CRLF, without a final CRLF. The field is meant to go above every
// field of the message.
func (s *Signer) Sign(r io.Reader) (string, error) {
	if _, ok := s.Key.Public().(*rsa.PublicKey); !ok {
		return "", fmt.Errorf("domainkeys: key of type %T: RSA needed", s.Key.Public())
	}
	if !validName(s.Selector) {
		return "", fmt.Errorf("domainkeys: bad selector %q", s.Selector)
	}
	canon := s.Canon
	if canon == "" {
		canon = NoFWS
	}
	fields, body, err := readHeader(r)
	if err != nil {
		return "", err
	}
	want := s.Headers
	if want == nil {
		want = DefaultHeaders
	}
	wanted := map[string]string{}
	for _, w := range want {
		wanted[strings.ToLower(w)] = w
	}
	var names []string
	var signed []field
	seen := map[string]bool{}
	for _, f := range fields {
		if w, ok := wanted[f.name]; ok {
			signed = append(signed, f)
			if !seen[f.name] {
				names = append(names, w)
				seen[f.name] = true
			}
		}
	}
	addr, _, err := sender(signed)
	if err != nil {
		return "", fmt.Errorf("domainkeys: %w", err)
	}
	d := strings.ToLower(addr[strings.LastIndexByte(addr, '@')+1:])
	domain := ""
	for _, sd := range s.Domains {
		sd = strings.ToLower(sd)
		if validName(sd) && (d == sd || strings.HasSuffix(d, "."+sd)) {
			domain = sd
			break
		}
	}
	if domain == "" {
		return "", fmt.Errorf("%w: %s", ErrNotSender, addr)
	}
	h := sha1.New()
	for _, f := range signed {
		h.Write(canonHeader(canon, f.raw))
	}
	bc := newBodyCanon(h, canon)
	if _, err := io.Copy(bc, body); err != nil {
		return "", fmt.Errorf("domainkeys: read body: %w", err)
	}
	bc.Close()
	sig, err := s.Key.Sign(rand.Reader, h.Sum(nil), crypto.SHA1)
	if err != nil {
		return "", fmt.Errorf("domainkeys: sign: %w", err)
	}
	b64 := base64.StdEncoding.EncodeToString(sig)
	var out strings.Builder
	out.WriteString("DomainKey-Signature: a=rsa-sha1; q=dns; c=" + canon + ";\r\n\ts=" + s.Selector +
		"; d=" + domain + ";\r\n\th=" + strings.Join(names, ":") + ";\r\n\tb=")
	for len(b64) > 72 {
		out.WriteString(b64[:72] + "\r\n\t ")
		b64 = b64[72:]
	}
	out.WriteString(b64)
	return out.String(), nil
}
