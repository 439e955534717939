package directory

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// ErrBadAddress is wrapped by every address syntax error.
var ErrBadAddress = errors.New("bad address")

// Split returns the local part and the lower-cased domain of addr. It checks
// only what routing needs (RFC 5321 4.5.3.1 lengths, one @, no control
// characters); the SMTP parser has already checked the rest.
func Split(addr string) (local, domain string, err error) {
	i := strings.LastIndexByte(addr, '@')
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
	for _, r := range addr {
		if r < 0x20 || r == 0x7f || r == ' ' {
			return "", "", fmt.Errorf("%w: %q contains a control character or space", ErrBadAddress, addr)
		}
	}
	if err := CheckDomain(domain); err != nil {
		return "", "", err
	}
	return local, domain, nil
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
