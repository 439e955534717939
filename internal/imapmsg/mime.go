package imapmsg

import (
	"bytes"

	"mailwarden/internal/mime"
)

// The limits of the MIME tree, internal/mime's, under the names imapmsg's
// tests use.
const (
	maxDepth  = mime.MaxDepth
	maxParts  = mime.MaxParts
	maxParams = mime.MaxParams
)

// param is a media type parameter as imapmsg's tests write them.
type param struct{ name, value string }

// parseMediaType is mime.ParseMediaType with imapmsg's parameter type.
func parseMediaType(v string) (typ, sub string, params []param, ok bool) {
	typ, sub, ps, ok := mime.ParseMediaType(v)
	if ps != nil {
		params = make([]param, len(ps))
		for i, p := range ps {
			params[i] = param{p.Name, p.Value}
		}
	}
	return typ, sub, params, ok
}

// decodeCTE undoes a Content-Transfer-Encoding (mime.DecodeTransfer).
func decodeCTE(cte string, b []byte) ([]byte, bool) { return mime.DecodeTransfer(cte, b) }

// decodeHeader decodes RFC 2047 encoded-words (mime.DecodeHeader).
func decodeHeader(s string) string { return mime.DecodeHeader(s) }

// lines counts the text lines of b: its LFs, plus one for a last line
// without line end (the line counts of BODYSTRUCTURE).
func lines(b []byte) int {
	n := bytes.Count(b, []byte{'\n'})
	if len(b) > 0 && b[len(b)-1] != '\n' {
		n++
	}
	return n
}

// lower maps an ASCII upper-case letter to lower case.
func lower(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// fieldsSubset returns the fields of h whose names are in names (or not
// in names when not is set), each with its original bytes and a line
// end, followed by an empty line (RFC 9051 HEADER.FIELDS and .NOT).
func fieldsSubset(h *mime.Header, names []string, not bool) []byte {
	var out []byte
	for i := range h.Len() {
		match := false
		for _, n := range names {
			if h.Is(i, n) {
				match = true
				break
			}
		}
		if match == not {
			continue
		}
		out = append(out, h.Raw(i)...)
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
