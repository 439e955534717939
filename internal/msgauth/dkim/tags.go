package dkim

import (
	"errors"
	"strings"
)

// Tags is a parsed tag=value list (RFC 6376 3.2), the syntax of
// DKIM-Signature fields and key records. Names are as written (case
// matters, RFC 6376 3.2); values have their whitespace removed, as every
// tag Mailwarden reads (d, s, a, i, b, l, t, k, p) allows.
type Tags map[string]string

// maxTagList bounds what ParseTags reads.
const maxTagList = 64 << 10

// ParseTags reads a tag-list. A tag without "=" or an empty or repeated
// name is a syntax error (RFC 6376 3.2: duplicate tags make the list
// invalid); a final ";" is allowed.
func ParseTags(s string) (Tags, error) {
	if len(s) > maxTagList {
		return nil, errors.New("dkim: tag list over 64 KiB")
	}
	t := Tags{}
	for spec := range strings.SplitSeq(s, ";") {
		if strings.TrimSpace(spec) == "" {
			continue
		}
		name, value, ok := strings.Cut(spec, "=")
		name = strings.TrimSpace(name)
		if !ok || name == "" {
			return nil, errors.New("dkim: malformed tag list")
		}
		if _, dup := t[name]; dup {
			return nil, errors.New("dkim: tag " + name + "= appears twice")
		}
		t[name] = stripSpace(value)
	}
	return t, nil
}

// stripSpace removes folding whitespace (space, tab, CR, LF).
func stripSpace(s string) string {
	if !strings.ContainsAny(s, " \t\r\n") {
		return s
	}
	return strings.Map(func(r rune) rune {
		switch r {
		case ' ', '\t', '\r', '\n':
			return -1
		}
		return r
	}, s)
}

// Flags returns a key record's t= flags ("y", "s"; RFC 6376 3.6.1).
func (t Tags) Flags() []string {
	v, ok := t["t"]
	if !ok || v == "" {
		return nil
	}
	return strings.Split(v, ":")
}
