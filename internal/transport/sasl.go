package transport

import (
	"errors"
	"fmt"
	"os"
	"strings"
)

// Credentials are one sasl_passwd entry.
type Credentials struct {
	Username, Password string
}

// Passwords is a parsed sasl_passwd file: next hop (as written in
// relayhost or a transport result, or a bare host name) to credentials.
type Passwords map[string]Credentials

// LoadPasswords reads a Postfix sasl_passwd file: lines
// "[smtp.example.com]:587 user:password", comments and blank lines.
func LoadPasswords(path string) (Passwords, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("password file: %w", err)
	}
	return ParsePasswords(path, data)
}

// ParsePasswords reads sasl_passwd text (named path in errors). The
// password is everything after the first colon of the value; errors never
// quote it.
func ParsePasswords(path string, data []byte) (Passwords, error) {
	ps := Passwords{}
	first := map[string]int{}
	var errs []error
	err := logicalLines(data, func(n int, line string) {
		bad := func(format string, a ...any) {
			errs = append(errs, &ParseError{File: path, Line: n, Msg: fmt.Sprintf(format, a...)})
		}
		key, value := splitKey(line)
		key = strings.ToLower(key)
		user, pass, ok := strings.Cut(value, ":")
		switch {
		case !ok || user == "":
			bad("entry for %q: want \"nexthop username:password\"", key)
			return
		case first[key] != 0:
			bad("duplicate entry %q (first on line %d)", key, first[key])
			return
		}
		if _, err := ParseHop(key); err != nil {
			bad("%v", err)
			return
		}
		first[key] = n
		ps[key] = Credentials{Username: user, Password: pass}
	})
	if err != nil {
		errs = append(errs, fmt.Errorf("%s: %w", path, err))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return ps, nil
}

// Lookup finds the credentials for a next hop: first as written
// ("[smtp.example.com]:587"), then in its normal form, then by host name
// alone, like Postfix's smtp_sasl_password_maps.
func (ps Passwords) Lookup(nexthop string) (Credentials, bool) {
	for _, k := range passwordKeys(nexthop) {
		if c, ok := ps[k]; ok {
			return c, true
		}
	}
	return Credentials{}, false
}
