package smtpwire

import (
	"errors"
	"strings"
)

var errXtext = errors.New("smtpwire: bad xtext")

// DecodeXtext decodes xtext (RFC 3461 4): xchar is any of "!" to "~" except
// "+" and "="; "+HH" stands for the byte with hex value HH (upper case per
// the RFC; lower case is tolerated). Anything else is an error. The decoded
// string may hold any byte: callers check what they accept.
func DecodeXtext(s string) (string, error) {
	return decodeXtext(s, false)
}

// decodeXtext decodes xtext; with utf8 it also passes through valid
// non-ASCII UTF-8 (RFC 6531/6533 esmtp-value).
func decodeXtext(s string, utf8 bool) (string, error) {
	if strings.IndexByte(s, '+') < 0 {
		if err := checkXchars(s, utf8); err != nil {
			return "", err
		}
		return s, nil
	}
	var b strings.Builder
	b.Grow(len(s))
	start := 0 // first byte of the current run of xchars
	for i := 0; i < len(s); i++ {
		if s[i] != '+' {
			continue
		}
		if err := checkXchars(s[start:i], utf8); err != nil {
			return "", err
		}
		b.WriteString(s[start:i])
		if i+2 >= len(s) {
			return "", errXtext
		}
		h, l := unhex(s[i+1]), unhex(s[i+2])
		if h < 0 || l < 0 {
			return "", errXtext
		}
		b.WriteByte(byte(h<<4 | l))
		i += 2
		start = i + 1
	}
	if err := checkXchars(s[start:], utf8); err != nil {
		return "", err
	}
	b.WriteString(s[start:])
	return b.String(), nil
}

func checkXchars(s string, utf8 bool) error {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x80 && utf8 {
			continue
		}
		if c < 33 || c > 126 || c == '=' {
			return errXtext
		}
	}
	if utf8 && !isASCII(s) && !validUTF8(s) {
		return errXtext
	}
	return nil
}

func unhex(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'A' <= c && c <= 'F':
		return int(c-'A') + 10
	case 'a' <= c && c <= 'f':
		return int(c-'a') + 10
	}
	return -1
}

// EncodeXtext encodes s as xtext (RFC 3461 4): bytes "!" to "~" other than
// "+" and "=" are kept, every other byte becomes "+HH".
func EncodeXtext(s string) string {
	const digits = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 33 && c <= 126 && c != '+' && c != '=' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('+')
		b.WriteByte(digits[c>>4])
		b.WriteByte(digits[c&15])
	}
	return b.String()
}

// ParseAttrs parses the argument of XCLIENT or XFORWARD: space-separated
// NAME=value pairs whose values are xtext (Postfix XCLIENT_README,
// XFORWARD_README). Names are upper-cased, values decoded; the special
// values [UNAVAILABLE] and [TEMPUNAVAIL] are kept as they are. An empty
// argument, a pair without "=", a bad name, bad xtext or a decoded value
// with a control character gives 501 5.5.4.
func ParseAttrs(arg string) ([]Param, error) {
	bad := newError(501, "5.5.4", "Syntax: attribute=value ...")
	var ps []Param
	for f := range strings.FieldsFuncSeq(arg, func(r rune) bool { return r == ' ' }) {
		name, val, ok := strings.Cut(f, "=")
		if !ok || !validAttrName(name) {
			return nil, bad
		}
		if val != "[UNAVAILABLE]" && val != "[TEMPUNAVAIL]" {
			dec, err := decodeXtext(val, true)
			if err != nil || !cleanText(dec) {
				return nil, bad
			}
			val = dec
		}
		ps = append(ps, Param{Key: strings.ToUpper(name), Value: val})
	}
	if len(ps) == 0 {
		return nil, bad
	}
	return ps, nil
}

func validAttrName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}
