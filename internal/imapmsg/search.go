package imapmsg

import (
	"strings"
	"time"

	"mailwarden/internal/mime"
)

// HeaderContains reports whether a top-level header field named field
// (case-insensitively) contains substr, case-insensitively, after RFC
// 2047 decoding (SEARCH HEADER, FROM, SUBJECT...). An empty substr
// matches any message that has the field (RFC 9051 6.4.4); an empty
// field matches nothing.
func (m *Message) HeaderContains(field, substr string) bool {
	if field == "" {
		return false
	}
	if substr == "" {
		return m.HasHeader(field)
	}
	h := m.header()
	needle := fold(substr)
	addrs := isAddressField(field)
	for i := range h.Len() {
		if !h.Is(i, field) {
			continue
		}
		if strings.Contains(fold(h.Text(i)), needle) {
			return true
		}
		if addrs && addressesContain(h.Value(i), needle) {
			return true
		}
	}
	return false
}

// isAddressField tells the fields whose search also matches the parsed
// addresses.
func isAddressField(field string) bool {
	switch strings.ToLower(field) {
	case "from", "to", "cc", "bcc", "sender", "reply-to":
		return true
	}
	return false
}

// addressesContain reports whether an address of the list v contains
// needle (folded) in its parsed form, "local@domain" or the display name
// (RFC 2047 decoded), as ENVELOPE shows it: "<user (comment)@ (comment)
// domain.org>" is found by "user@domain.org" (RFC 9051 6.4.4 leaves the
// matching to the server; clients search what they saw in ENVELOPE).
func addressesContain(v, needle string) bool {
	for _, a := range parseAddressList(v) {
		if a.kind != addrMailbox {
			continue
		}
		if strings.Contains(fold(a.mailbox+"@"+a.host), needle) ||
			(a.name != "" && strings.Contains(fold(decodeHeader(a.name)), needle)) {
			return true
		}
	}
	return false
}

// HasHeader reports whether the top-level header has a field named field.
func (m *Message) HasHeader(field string) bool {
	return field != "" && m.header().Has(field)
}

// BodyContains reports whether the content of a text/* part contains
// substr case-insensitively, after transfer decoding and conversion to
// UTF-8 from the part's charset when go-message knows it (SEARCH BODY).
// Parts inside attached messages count; other types do not.
func (m *Message) BodyContains(substr string) bool {
	if substr == "" {
		return true
	}
	return m.bodyContains(m.tree(), fold(substr))
}

func (m *Message) bodyContains(p *mime.Part, needle string) bool {
	switch {
	case p.IsMultipart():
		for _, c := range p.Parts() {
			if m.bodyContains(c, needle) {
				return true
			}
		}
		return false
	case p.Message() != nil:
		return m.bodyContains(p.Message(), needle)
	}
	text, ok := p.Text()
	return ok && strings.Contains(fold(string(text)), needle)
}

// TextContains reports whether the top-level header (field names and
// decoded values) or a text body contains substr (SEARCH TEXT).
func (m *Message) TextContains(substr string) bool {
	if substr == "" {
		return true
	}
	h := m.header()
	needle := fold(substr)
	for i := range h.Len() {
		var line string
		if h.Valid(i) {
			line = h.Name(i) + ": " + h.Text(i)
		} else {
			line = mime.Unfold(h.Raw(i))
		}
		if strings.Contains(fold(line), needle) {
			return true
		}
	}
	return m.BodyContains(substr)
}

// fold maps s to lower case for case-insensitive matching.
func fold(s string) string { return strings.ToLower(s) }

// Date is the time in the Date: header, in its own time zone, or the zero
// time when it is absent or unreadable (SENTBEFORE, SENTON, SENTSINCE).
func (m *Message) Date() time.Time {
	v, ok := m.header().Get("date")
	if !ok {
		return time.Time{}
	}
	return parseDate(v)
}
