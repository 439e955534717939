package table

import (
	"fmt"
	"strings"
)

// maxInline bounds the inline: text.
const maxInline = 1 << 20

// parseInline reads "{ key=value, { key = text with spaces } }". Keys are
// folded; a later duplicate replaces an earlier one (as Postfix's inline:
// does).
func parseInline(s string) (Table, error) {
	if len(s) > maxInline {
		return nil, fmt.Errorf("inline table over %d bytes", maxInline)
	}
	t := strings.TrimSpace(s)
	if len(t) < 2 || t[0] != '{' || t[len(t)-1] != '}' {
		return nil, fmt.Errorf("inline table must be enclosed in { }")
	}
	t = t[1 : len(t)-1]
	m := mapTable{}
	for i := 0; i < len(t); {
		c := t[i]
		if c == ' ' || c == '\t' || c == ',' || c == '\n' || c == '\r' {
			i++
			continue
		}
		var elem string
		if c == '{' {
			end := strings.IndexByte(t[i:], '}')
			if end < 0 {
				return nil, fmt.Errorf("inline table: missing } after %q", t[i:])
			}
			if j := strings.IndexByte(t[i+1:i+end], '{'); j >= 0 {
				return nil, fmt.Errorf("inline table: nested { in %q", t[i:i+end+1])
			}
			elem, i = t[i+1:i+end], i+end+1
		} else {
			end := strings.IndexAny(t[i:], " \t,\n\r")
			if end < 0 {
				end = len(t) - i
			}
			elem, i = t[i:i+end], i+end
			if strings.ContainsAny(elem, "{}") {
				return nil, fmt.Errorf("inline table: unbalanced braces in %q", elem)
			}
		}
		k, v, ok := strings.Cut(elem, "=")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if !ok || k == "" {
			return nil, fmt.Errorf("inline table: %q: want key=value", elem)
		}
		m[foldKey(k)] = v
	}
	if len(m) == 0 {
		return nil, fmt.Errorf("inline table is empty")
	}
	return m, nil
}
