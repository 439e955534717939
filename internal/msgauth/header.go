package msgauth

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net/mail"
	"strings"

	"mailwarden/internal/mime"
)

// maxHeader bounds how much of a message's header msgauth reads to find
// From and Authentication-Results.
const maxHeader = 1 << 20

type headerCache struct {
	h        mime.Header
	err      error
	complete bool // the whole header was read (under maxHeader)
}

// Header returns the message's header (trace and our edits before it
// included, as Content gives it), read once.
func (m *Message) Header() (*mime.Header, error) {
	if m.hdr != nil {
		return &m.hdr.h, m.hdr.err
	}
	m.hdr = &headerCache{}
	if m.Content == nil {
		m.hdr.err = errors.New("msgauth: message has no content")
		return &m.hdr.h, m.hdr.err
	}
	r, err := m.Content()
	if err != nil {
		m.hdr.err = fmt.Errorf("msgauth: read header: %w", err)
		return &m.hdr.h, m.hdr.err
	}
	buf, err := readHeader(r)
	if err != nil {
		m.hdr.err = fmt.Errorf("msgauth: read header: %w", err)
		return &m.hdr.h, m.hdr.err
	}
	m.hdr.h, _ = mime.ParseHeader(buf)
	m.hdr.complete = len(buf) < maxHeader
	return &m.hdr.h, nil
}

// lacks reports whether the message surely has none of the named fields:
// its whole header was read and none is there. A method whose fields are
// absent then answers "none" without reading the message again.
func (m *Message) lacks(names ...string) bool {
	h, err := m.Header()
	if err != nil || !m.hdr.complete {
		return false
	}
	for _, n := range names {
		if h.Has(n) {
			return false
		}
	}
	return true
}

// readHeader reads up to the empty line that ends the header, the end of
// the message, or maxHeader bytes.
func readHeader(r io.Reader) ([]byte, error) {
	br := bufio.NewReader(io.LimitReader(r, maxHeader))
	var buf []byte
	for {
		line, err := br.ReadSlice('\n')
		buf = append(buf, line...)
		if err == bufio.ErrBufferFull {
			continue
		}
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return nil, err
		}
		if len(line) == 1 || len(line) == 2 && line[0] == '\r' {
			return buf, nil
		}
	}
}

// Errors of FromDomain: DMARC cannot be evaluated (RFC 7489 6.6.1).
var (
	ErrNoFrom       = errors.New("msgauth: no From field")
	ErrMultipleFrom = errors.New("msgauth: several From fields or addresses")
)

// FromDomain returns the domain of the RFC5322.From address, lower case:
// the message must have exactly one From field with exactly one address
// (RFC 7489 6.6.1).
func (m *Message) FromDomain() (string, error) {
	h, err := m.Header()
	if err != nil {
		return "", err
	}
	vals := h.Values("From")
	switch len(vals) {
	case 0:
		return "", ErrNoFrom
	case 1:
	default:
		return "", ErrMultipleFrom
	}
	v := mime.Unfold([]byte(vals[0]))
	addrs, err := mail.ParseAddressList(v)
	if err != nil {
		// net/mail does not take comments inside an addr-spec
		// (RFC 5322 3.4.1 allows CFWS around its parts).
		addrs, err = mail.ParseAddressList(stripComments(v))
	}
	if err != nil {
		return "", fmt.Errorf("msgauth: From: %w", err)
	}
	if len(addrs) != 1 {
		return "", ErrMultipleFrom
	}
	at := strings.LastIndexByte(addrs[0].Address, '@')
	if at < 0 {
		return "", fmt.Errorf("msgauth: From <%s> has no domain", addrs[0].Address)
	}
	return strings.ToLower(strings.TrimSuffix(addrs[0].Address[at+1:], ".")), nil
}

// forgedAuthResults reports whether the message carries an
// Authentication-Results field with our authserv-id (RFC 8601 5).
func (m *Message) forgedAuthResults(id string) (bool, error) {
	h, err := m.Header()
	if err != nil {
		return false, err
	}
	for _, v := range h.Values("Authentication-Results") {
		if mime.AuthServID(v) == strings.ToLower(id) {
			return true, nil
		}
	}
	return false, nil
}

// stripComments removes (nested) comments outside quoted strings,
// replacing each with nothing; RFC 5322 3.2.2 CFWS.
func stripComments(s string) string {
	var b strings.Builder
	depth, quoted := 0, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\' && i+1 < len(s):
			if depth == 0 {
				b.WriteByte(c)
				b.WriteByte(s[i+1])
			}
			i++
			continue
		case quoted:
			quoted = c != '"'
		case c == '"' && depth == 0:
			quoted = true
		case c == '(':
			depth++
			continue
		case c == ')' && depth > 0:
			depth--
			continue
		}
		if depth == 0 {
			b.WriteByte(c)
		}
	}
	return strings.ReplaceAll(b.String(), " ", "")
}
