package imapmsg

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

// header is a parsed header section.
type header struct {
	raw    []byte
	fields []field
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
func parseHeader(raw []byte, start, limit int) (h header, body int) {
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

// unfold returns b without CR and LF bytes, trimmed of surrounding blanks.
func unfold(b []byte) string {
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

// is reports whether f is a well-formed field named name
// (case-insensitively).
func (h *header) is(f *field, name string) bool {
	if f.value < 0 || f.nameEnd-f.start != len(name) {
		return false
	}
	for i := 0; i < len(name); i++ {
		a, b := h.raw[f.start+i], name[i]
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

// nameOf returns the name of f.
func (h *header) nameOf(f *field) string { return string(h.raw[f.start:f.nameEnd]) }

// valueOf returns the unfolded value of f.
func (h *header) valueOf(f *field) string {
	if f.value < 0 {
		return ""
	}
	return unfold(h.raw[f.value:f.end])
}

// lookup returns the first field named name (case-insensitively).
func (h *header) lookup(name string) *field {
	for i := range h.fields {
		if f := &h.fields[i]; h.is(f, name) {
			return f
		}
	}
	return nil
}

// get returns the unfolded value of the first field named name.
func (h *header) get(name string) (string, bool) {
	f := h.lookup(name)
	if f == nil {
		return "", false
	}
	return h.valueOf(f), true
}

// fieldsSubset returns the fields whose names are in names (or not in
// names when not is set), each with its original bytes and a line end,
// followed by an empty line (RFC 9051 HEADER.FIELDS and .NOT).
func (h *header) fieldsSubset(names []string, not bool) []byte {
	var out []byte
	for i := range h.fields {
		f := &h.fields[i]
		match := false
		for _, n := range names {
			if h.is(f, n) {
				match = true
				break
			}
		}
		if match == not {
			continue
		}
		out = append(out, h.raw[f.start:f.end]...)
		switch out[len(out)-1] {
		case '\n':
		case '\r':
			out = append(out, '\n')
		default:
			out = append(out, '\r', '\n')
		}
	}
	return append(out, '\r', '\n')
}
