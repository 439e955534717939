package dkim

import (
	"bufio"
	"bytes"
	"crypto"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	msgdkim "github.com/emersion/go-msgauth/dkim"

	"mailwarden/internal/mime"
)

// DefaultSignHeaders is what OpenDKIM signs when SignHeaders is not set
// (libopendkim's dkim_should_signhdrs: RFC 6376 5.4.1's list), plus
// Message-ID and the MIME fields (MIME-Version, Content-Type,
// Content-Transfer-Encoding): left unsigned, those let a relay make the
// signed body read as something else.
var DefaultSignHeaders = []string{
	"From", "Reply-To", "Subject", "Date", "To", "Cc",
	"Resent-Date", "Resent-From", "Resent-Sender", "Resent-To", "Resent-Cc",
	"In-Reply-To", "References",
	"List-Id", "List-Help", "List-Unsubscribe", "List-Subscribe", "List-Post", "List-Owner", "List-Archive",
	"Message-ID", "MIME-Version", "Content-Type", "Content-Transfer-Encoding",
}

// DefaultOversignHeaders are signed once more than they appear, so that
// none can be added after signing without breaking the signature (what
// OpenDKIM's OversignHeaders does; Debian's opendkim.conf sets From).
var DefaultOversignHeaders = []string{"From", "To", "Cc", "Subject", "Date", "Reply-To"}

// SignConfig is how messages are signed.
type SignConfig struct {
	// Canonicalization is "header/body", each "relaxed" or "simple";
	// "" means relaxed/relaxed.
	Canonicalization string
	// Headers are the fields signed when present ("" or nil:
	// DefaultSignHeaders). From is always signed (RFC 6376 5.4).
	Headers []string
	// Oversign are the fields listed once more than present.
	Oversign []string
	// TTL, when positive, gives signatures an x= expiry that long after
	// their t= (OpenDKIM's SignatureTTL).
	TTL time.Duration
}

// SigningKey is one signature to make: d=, s=, optional i=, and the key.
type SigningKey struct {
	Domain, Selector string
	Identity         string // i=; "" leaves it out (it defaults to @d)
	Signer           crypto.Signer
}

// ParseCanonicalization splits "header/body" ("relaxed" alone means
// relaxed/simple, RFC 6376 3.5 c=).
func ParseCanonicalization(s string) (header, body msgdkim.Canonicalization, err error) {
	if s == "" {
		return msgdkim.CanonicalizationRelaxed, msgdkim.CanonicalizationRelaxed, nil
	}
	h, b, ok := strings.Cut(strings.ToLower(s), "/")
	if !ok {
		b = "simple"
	}
	for _, c := range []string{h, b} {
		if c != "relaxed" && c != "simple" {
			return "", "", fmt.Errorf("dkim: canonicalization %q: want relaxed or simple, as header/body", s)
		}
	}
	return msgdkim.Canonicalization(h), msgdkim.Canonicalization(b), nil
}

// maxSignHeader bounds the header read to choose the signed fields.
const maxSignHeader = 1 << 20

// ErrHeaderTooLarge is returned for a header over 1 MiB.
var ErrHeaderTooLarge = errors.New("dkim: message header over 1 MiB")

// Sign reads a whole message (header and body) once and returns one
// DKIM-Signature field per key, in keys' order, each "DKIM-Signature:
// ..." folded with CRLF and without a final CRLF.
func Sign(r io.Reader, keys []SigningKey, c SignConfig) ([]string, error) {
	if len(keys) == 0 {
		return nil, nil
	}
	hc, bc, err := ParseCanonicalization(c.Canonicalization)
	if err != nil {
		return nil, err
	}
	br := bufio.NewReader(r)
	head, err := readHead(br)
	if err != nil {
		return nil, err
	}
	h, _ := mime.ParseHeader(head)
	names := SignedFields(&h, c.Headers, c.Oversign)
	var exp time.Time
	if c.TTL > 0 {
		exp = time.Now().Add(c.TTL)
	}
	signers := make([]*msgdkim.Signer, len(keys))
	writers := make([]io.Writer, len(keys))
	defer func() {
		for _, s := range signers {
			if s != nil {
				s.Close()
			}
		}
	}()
	for i, k := range keys {
		s, err := msgdkim.NewSigner(&msgdkim.SignOptions{
			Domain: k.Domain, Selector: k.Selector, Identifier: k.Identity, Signer: k.Signer,
			HeaderCanonicalization: hc, BodyCanonicalization: bc,
			HeaderKeys: names, Expiration: exp,
		})
		if err != nil {
			return nil, fmt.Errorf("dkim: sign as %s/%s: %w", k.Domain, k.Selector, err)
		}
		signers[i], writers[i] = s, s
	}
	w := io.MultiWriter(writers...)
	if _, err := w.Write(head); err != nil {
		return nil, fmt.Errorf("dkim: sign: %w", err)
	}
	if _, err := io.Copy(w, br); err != nil {
		return nil, fmt.Errorf("dkim: sign: %w", err)
	}
	out := make([]string, len(keys))
	for i, s := range signers {
		signers[i] = nil
		if err := s.Close(); err != nil {
			return nil, fmt.Errorf("dkim: sign as %s/%s: %w", keys[i].Domain, keys[i].Selector, err)
		}
		out[i] = strings.TrimRight(s.Signature(), "\r\n")
	}
	return out, nil
}

// readHead reads the header up to and including the empty line (or the
// whole message when it has no body), at most maxSignHeader bytes.
func readHead(br *bufio.Reader) ([]byte, error) {
	var buf []byte
	for {
		line, err := br.ReadSlice('\n')
		buf = append(buf, line...)
		if len(buf) > maxSignHeader {
			return nil, ErrHeaderTooLarge
		}
		switch {
		case err == bufio.ErrBufferFull:
			continue
		case err == io.EOF:
			return buf, nil
		case err != nil:
			return nil, fmt.Errorf("dkim: read message: %w", err)
		}
		if bytes.Equal(line, []byte("\r\n")) || bytes.Equal(line, []byte("\n")) {
			return buf, nil
		}
	}
}

// SignedFields is the h= list for a header: each field of sign as many
// times as it is present (From always), then each field of oversign one
// time more (RFC 6376 5.4.2: a name listed more often than present makes
// an added field break the signature). sign nil means
// DefaultSignHeaders.
func SignedFields(h *mime.Header, sign, oversign []string) []string {
	if sign == nil {
		sign = DefaultSignHeaders
	}
	count := map[string]int{}
	for i := range h.Len() {
		count[strings.ToLower(h.Name(i))]++
	}
	var out []string
	seen := map[string]bool{}
	add := func(name string) {
		l := strings.ToLower(name)
		if seen[l] {
			return
		}
		seen[l] = true
		for range count[l] {
			out = append(out, name)
		}
	}
	add("From") // RFC 6376 5.4: From MUST be signed
	for _, n := range sign {
		add(n)
	}
	over := map[string]bool{}
	for _, n := range oversign {
		if l := strings.ToLower(n); !over[l] {
			over[l] = true
			out = append(out, n)
		}
	}
	if len(out) == 0 || count["from"] == 0 && !over["from"] {
		out = append(out, "From") // go-msgauth wants From in h= even when absent
	}
	return out
}
