package tagvalue

import (
	"errors"
	"fmt"
	"strings"
)

// MaxTags bounds how many tags one list may hold; a longer list is
// refused (the signatures and records we read have about a dozen).
const MaxTags = 64

// Tag is one tag-spec: its name as written (case matters, RFC 6376 3.2)
// and its value with the surrounding whitespace removed.
type Tag struct {
	Name, Value string
}

// List is a parsed tag list in the order written.
type List []Tag

// Errors of Parse, to be tested with errors.Is.
var (
	ErrSyntax    = errors.New("tagvalue: syntax error")
	ErrDuplicate = errors.New("tagvalue: duplicate tag")
)

// Parse splits s into its tags (RFC 6376 3.2):
//
//	tag-list = tag-spec *( ";" tag-spec ) [ ";" ]
//	tag-spec = [FWS] tag-name [FWS] "=" [FWS] tag-value [FWS]
//
// A tag name is a letter then letters, digits or "_"; a value holds
// printable characters other than ";" with inner whitespace. A tag that
// appears twice makes the whole list invalid.
func Parse(s string) (List, error) {
	var l List
	specs := strings.Split(s, ";")
	for i, spec := range specs {
		spec = trimFWS(spec)
		if spec == "" {
			if i == len(specs)-1 && i > 0 {
				break // the optional trailing ";"
			}
			return nil, fmt.Errorf("%w: empty tag-spec", ErrSyntax)
		}
		eq := strings.IndexByte(spec, '=')
		if eq < 0 {
			return nil, fmt.Errorf("%w: %.20q has no \"=\"", ErrSyntax, spec)
		}
		name, value := trimFWS(spec[:eq]), trimFWS(spec[eq+1:])
		if !validName(name) {
			return nil, fmt.Errorf("%w: bad tag name %.20q", ErrSyntax, name)
		}
		if !validValue(value) {
			return nil, fmt.Errorf("%w: bad value of tag %s", ErrSyntax, name)
		}
		if _, dup := l.Lookup(name); dup {
			return nil, fmt.Errorf("%w %s", ErrDuplicate, name)
		}
		if len(l) == MaxTags {
			return nil, fmt.Errorf("%w: more than %d tags", ErrSyntax, MaxTags)
		}
		l = append(l, Tag{name, value})
	}
	return l, nil
}

// Lookup returns the value of the tag named name (case-sensitive).
func (l List) Lookup(name string) (string, bool) {
	for _, t := range l {
		if t.Name == name {
			return t.Value, true
		}
	}
	return "", false
}

// Get returns the value of the tag named name, "" when absent.
func (l List) Get(name string) string {
	v, _ := l.Lookup(name)
	return v
}

// StripFWS removes every blank and line end from a value, as base64
// values (b=, bh=, p=) and colon lists (h=) are read.
func StripFWS(s string) string {
	if !strings.ContainsAny(s, " \t\r\n") {
		return s
	}
	return strings.Map(func(r rune) rune {
		if r == ' ' || r == '\t' || r == '\r' || r == '\n' {
			return -1
		}
		return r
	}, s)
}

func trimFWS(s string) string { return strings.Trim(s, " \t\r\n") }

// validName: ALPHA *ALNUMPUNC (RFC 6376 3.2).
func validName(s string) bool {
	if s == "" || !isAlpha(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if !isAlpha(c) && !(c >= '0' && c <= '9') && c != '_' {
			return false
		}
	}
	return true
}

// validValue: VALCHARs (%x21-3A / %x3C-7E) separated by FWS.
func validValue(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
		case c >= 0x21 && c <= 0x7e && c != ';':
		default:
			return false
		}
	}
	return true
}

func isAlpha(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
