package directory

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// ErrBadAddress is wrapped by every address syntax error.
var ErrBadAddress = errors.New("bad address")

// Split returns the local part, exactly as written (quotes included), and
// the lower-cased domain of addr. The domain follows the last '@' outside
// a quoted string, so "x@inner.test"@remote.test is the local part
// "x@inner.test" (quoted) at remote.test (RFC 5321 4.1.2). It checks only
// what routing needs (RFC 5321 4.5.3.1 lengths, a well-formed quoted
// string, no control characters, spaces only inside quotes); the SMTP
// parser has already checked the rest.
func Split(addr string) (local, domain string, err error) {
	i, err := lastUnquotedAt(addr)
	if err != nil {
		return "", "", err
	}
	if i <= 0 || i == len(addr)-1 {
		return "", "", fmt.Errorf("%w: %q: want local@domain", ErrBadAddress, addr)
	}
	local, domain = addr[:i], strings.ToLower(strings.TrimSuffix(addr[i+1:], "."))
	if len(local) > 64 || len(domain) > 255 || len(addr) > 320 { // RFC 5321 4.5.3.1.1-3
		return "", "", fmt.Errorf("%w: %q is too long", ErrBadAddress, addr)
	}
	if !utf8.ValidString(addr) {
		return "", "", fmt.Errorf("%w: %q is not valid UTF-8", ErrBadAddress, addr)
	}
	quoted := strings.HasPrefix(local, `"`)
	for j, r := range addr {
		if r < 0x20 || r == 0x7f || r == ' ' && !(quoted && j < i) {
			return "", "", fmt.Errorf("%w: %q contains a control character or space", ErrBadAddress, addr)
		}
	}
	if err := CheckDomain(domain); err != nil {
		return "", "", err
	}
	return local, domain, nil
}

// lastUnquotedAt is the index of the last '@' of addr outside a quoted
// string (-1: none). A quoted string must make up the whole local part
// (RFC 5321 4.1.2 Quoted-string), with backslash escapes inside it.
func lastUnquotedAt(addr string) (int, error) {
	if !strings.HasPrefix(addr, `"`) {
		return strings.LastIndexByte(addr, '@'), nil
	}
	for j := 1; j < len(addr); j++ {
		switch addr[j] {
		case '\\':
			j++ // quoted-pairSMTP: the next character is literal
		case '"':
			if j+1 < len(addr) && addr[j+1] != '@' {
				return -1, fmt.Errorf("%w: %q: text after the quoted local part", ErrBadAddress, addr)
			}
			if j+1 == len(addr) {
				return -1, nil
			}
			return j + 1, nil
		}
	}
	return -1, fmt.Errorf("%w: %q: unterminated quoted local part", ErrBadAddress, addr)
}

// Unquote returns local without its quoting when it is a quoted string
// ("alice" is alice, "a\"b" is a"b), else local unchanged. Lookups of
// this server's own mailboxes and aliases use it: RFC 5321 4.1.2 makes
// the quoted and unquoted forms of a local part the same mailbox.
func Unquote(local string) string {
	if len(local) < 2 || local[0] != '"' || local[len(local)-1] != '"' {
		return local
	}
	var b strings.Builder
	in := local[1 : len(local)-1]
	for j := 0; j < len(in); j++ {
		if in[j] == '\\' && j+1 < len(in) {
			j++
		}
		b.WriteByte(in[j])
	}
	return b.String()
}

// Normalize lower-cases an address for lookups, as Postfix does for tables.
func Normalize(addr string) (string, error) {
	local, domain, err := Split(addr)
	if err != nil {
		return "", err
	}
	return strings.ToLower(local) + "@" + domain, nil
}

// CheckDomain validates a domain name (labels of letters, digits, hyphens;
// internationalized labels are accepted as UTF-8).
func CheckDomain(d string) error {
	if d == "" || len(d) > 253 {
		return fmt.Errorf("%w: domain %q: empty or too long", ErrBadAddress, d)
	}
	if strings.HasPrefix(d, "[") && strings.HasSuffix(d, "]") {
		return nil // address literal; never local, routing treats it as remote
	}
	for _, label := range strings.Split(d, ".") {
		if label == "" || len(label) > 63 {
			return fmt.Errorf("%w: domain %q: empty or too long label", ErrBadAddress, d)
		}
		if label[0] == '-' || label[len(label)-1] == '-' {
			return fmt.Errorf("%w: domain %q: label starts or ends with '-'", ErrBadAddress, d)
		}
		for _, r := range label {
			ok := r == '-' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r > 0x7f
			if !ok {
				return fmt.Errorf("%w: domain %q: character %q not allowed", ErrBadAddress, d, r)
			}
		}
	}
	return nil
}

// StripExtension removes a recipient extension ("alice+tag" -> "alice") for
// any of the delimiter characters in delims. It returns the local part
// unchanged when there is none.
func StripExtension(local, delims string) string {
	if delims == "" {
		return local
	}
	if i := strings.IndexAny(local, delims); i > 0 {
		return local[:i]
	}
	return local
}
