package mime

import (
	"bytes"
)

// field is one header field: raw[start:end] holds it whole, folded
// continuation lines and line end included.
type field struct {
	start, end int
	nameEnd    int // raw[start:nameEnd] is the name, without trailing blanks
	value      int // offset of the value (after the colon); -1 without colon
}

// Header is a parsed header section: its fields in order, each a span of
// the bytes it was parsed from (never copied). A line that is not a
// field (no name before a colon) is kept as a malformed field: Valid is
// false for it and no name matches it. Fields are numbered from 0.
type Header struct {
	raw    []byte
	fields []field
}

// ParseHeader parses the header section at the start of b (RFC 5322 2.2):
// it ends with the first empty line (CRLF, or a bare LF) or at the end of
// b. body is the offset of what follows the empty line, len(b) when there
// is none. Continuation lines (starting with a blank) belong to the field
// before them. The Header refers to b, which must not change afterwards.
func ParseHeader(b []byte) (h Header, body int) {
	return parseHeader(b, 0, len(b))
}

// HeaderEnd returns the length of the header section at the start of b,
// its empty line included, or -1 when b holds no complete header: the
// header ends with the first empty line (CRLF or a bare LF, as
// ParseHeader reads it).
func HeaderEnd(b []byte) int {
	for i := 0; i < len(b); {
		j := bytes.IndexByte(b[i:], '\n')
		if j < 0 {
			return -1
		}
		j += i + 1
		if j-i == 1 || (j-i == 2 && b[i] == '\r') {
			return j
		}
		i = j
	}
	return -1
}

// nextLine returns the end (after LF, or limit) of the line starting at i.
func nextLine(raw []byte, i, limit int) int {
	if j := bytes.IndexByte(raw[i:limit], '\n'); j >= 0 {
		return i + j + 1
	}
	return limit
}

// isBlankLine reports whether raw[i:j] is an empty line (CRLF, LF, or a
// lone CR at the end of the data).
func isBlankLine(raw []byte, i, j int) bool {
	switch j - i {
	case 1:
		return raw[i] == '\n' || raw[i] == '\r'
	case 2:
		return raw[i] == '\r' && raw[i+1] == '\n'
	}
	return false
}

// parseHeader parses the header section starting at start. It ends with
// the first empty line (included in the header) or at limit; body is the
// offset of the body.
func parseHeader(raw []byte, start, limit int) (h Header, body int) {
	h.raw = raw
	if start == 0 {
		h.fields = make([]field, 0, 16) // a message header: avoid regrowth
	}
	for i := start; i < limit; {
		j := nextLine(raw, i, limit)
		if isBlankLine(raw, i, j) {
			return h, j
		}
		c := raw[i]
		if (c == ' ' || c == '\t') && len(h.fields) > 0 {
			h.fields[len(h.fields)-1].end = j
			i = j
			continue
		}
		f := field{start: i, end: j, value: -1}
		if k := bytes.IndexByte(raw[i:j], ':'); k > 0 {
			name := bytes.TrimRight(raw[i:i+k], " \t")
			if validFieldName(name) {
				f.nameEnd = i + len(name)
				f.value = i + k + 1
			}
		}
		h.fields = append(h.fields, f)
		i = j
	}
	return h, limit
}

// validFieldName reports whether b is an RFC 5322 field name: printable
// US-ASCII except colon.
func validFieldName(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if c <= ' ' || c >= 0x7f {
			return false
		}
	}
	return true
}

// Unfold returns b without CR and LF bytes, trimmed of surrounding blanks
// (RFC 5322 2.2.3 unfolding, leniently: a bare CR or LF goes too).
func Unfold(b []byte) string {
	if bytes.IndexAny(b, "\r\n") < 0 {
		return string(bytes.Trim(b, " \t"))
	}
	out := make([]byte, 0, len(b))
	for _, c := range b {
		if c != '\r' && c != '\n' {
			out = append(out, c)
		}
	}
	return string(bytes.Trim(out, " \t"))
}

// Len is the number of fields.
func (h *Header) Len() int { return len(h.fields) }

// Raw returns field i whole: its name, colon, value, folded lines and
// line end (a last field may lack one), as in the message.
func (h *Header) Raw(i int) []byte {
	f := &h.fields[i]
	return h.raw[f.start:f.end:f.end]
}

// Span returns where field i is in the bytes the header was parsed from.
func (h *Header) Span(i int) (start, end int) { return h.fields[i].start, h.fields[i].end }

// Valid reports whether field i is a field: a name (printable US-ASCII)
// then a colon. A line that is not has no name and no value.
func (h *Header) Valid(i int) bool { return h.fields[i].value >= 0 }

// NameBytes returns the name of field i as in the message (nil when it is
// not Valid). The result shares the message's memory: do not modify it.
func (h *Header) NameBytes(i int) []byte {
	f := &h.fields[i]
	if f.value < 0 {
		return nil
	}
	return h.raw[f.start:f.nameEnd:f.nameEnd]
}

// Name returns the name of field i as in the message, "" when it is not
// Valid.
func (h *Header) Name(i int) string { return string(h.NameBytes(i)) }

// Is reports whether field i is a field named name, comparing ASCII
// letters case-insensitively (RFC 5322 1.2.2) and nothing else folded.
func (h *Header) Is(i int, name string) bool {
	f := &h.fields[i]
	if f.value < 0 || f.nameEnd-f.start != len(name) {
		return false
	}
	for k := 0; k < len(name); k++ {
		a, b := h.raw[f.start+k], name[k]
		if a != b && lower(a) != lower(b) {
			return false
		}
	}
	return true
}

func lower(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// Value returns the value of field i unfolded (line ends removed) and
// trimmed of surrounding blanks, "" when it is not Valid. Encoded-words
// are kept; Text decodes them.
func (h *Header) Value(i int) string {
	f := &h.fields[i]
	if f.value < 0 {
		return ""
	}
	return Unfold(h.raw[f.value:f.end])
}

// Text returns Value with its RFC 2047 encoded-words decoded to UTF-8
// (DecodeHeader).
func (h *Header) Text(i int) string { return DecodeHeader(h.Value(i)) }

// Index returns the number of the first field named name, or -1.
func (h *Header) Index(name string) int {
	for i := range h.fields {
		if h.Is(i, name) {
			return i
		}
	}
	return -1
}

// Has reports whether the header has a field named name.
func (h *Header) Has(name string) bool { return h.Index(name) >= 0 }

// Get returns the Value of the first field named name; ok is false when
// there is none.
func (h *Header) Get(name string) (value string, ok bool) {
	i := h.Index(name)
	if i < 0 {
		return "", false
	}
	return h.Value(i), true
}

// Values returns the Values of every field named name, in order.
func (h *Header) Values(name string) []string {
	var out []string
	for i := range h.fields {
		if h.Is(i, name) {
			out = append(out, h.Value(i))
		}
	}
	return out
}
