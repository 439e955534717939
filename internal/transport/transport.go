// Package transport reads Postfix-style next-hop settings: transport(5)
// tables (transport_maps), relayhost values and sasl_passwd files.
package transport

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"strings"
)

// Kind is what a route does with a recipient.
type Kind int

const (
	// Default (":" in the table) changes nothing: relayhost or MX routing.
	Default Kind = iota
	// SMTP delivers by SMTP to Host (empty: the recipient's domain).
	SMTP
	// LMTP delivers by LMTP to Host:Port or the unix socket Unix.
	LMTP
	// Local delivers to this server's mailboxes (local:, virtual:).
	Local
	// Error bounces with Enhanced and Text.
	Error
	// Retry defers with Enhanced and Text.
	Retry
	// Discard drops the recipient as if delivered.
	Discard
)

var kindNames = [...]string{"default", "smtp", "lmtp", "local", "error", "retry", "discard"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Route is one table result. It is comparable, so recipients with equal
// routes can be delivered together.
type Route struct {
	Kind Kind
	// Nexthop is the text after "transport:" as written; it is also the
	// key for credentials in a sasl_passwd file.
	Nexthop string
	// Hop is where SMTP and LMTP routes connect (Unix unset).
	Hop
	// Unix is the socket path of "lmtp:unix:/path".
	Unix string
	// Enhanced and Text are the status of Error, Retry and Discard.
	Enhanced, Text string
}

// ParseError is a problem at one line of a table file.
type ParseError struct {
	File string
	Line int
	Msg  string
}

func (e *ParseError) Error() string { return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg) }

// Table is a parsed transport table. It is read-only once built.
type Table struct {
	routes map[string]Route
	raw    map[string]string // the results as written, for OpenMap
}

// Len is the number of entries.
func (t *Table) Len() int { return len(t.routes) }

// Load reads a transport(5) file.
func Load(path string) (*Table, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("transport table: %w", err)
	}
	return Parse(path, data)
}

// Parse reads transport(5) text (named path in errors): "pattern result"
// logical lines, where a line starting with whitespace continues the one
// before, and lines starting with # are comments. Every bad line is
// reported, joined, as *ParseError.
func Parse(path string, data []byte) (*Table, error) {
	t := &Table{routes: map[string]Route{}, raw: map[string]string{}}
	first := map[string]int{}
	var errs []error
	err := logicalLines(data, func(n int, line string) {
		pattern, result := splitKey(line)
		pattern = strings.ToLower(pattern)
		bad := func(format string, a ...any) {
			errs = append(errs, &ParseError{File: path, Line: n, Msg: fmt.Sprintf(format, a...)})
		}
		if msg := checkPattern(pattern); msg != "" {
			bad("%s", msg)
			return
		}
		if result == "" {
			bad("pattern %q has no result (want transport:nexthop)", pattern)
			return
		}
		r, err := ParseResult(result)
		if err != nil {
			bad("%v", err)
			return
		}
		if l, dup := first[pattern]; dup {
			bad("duplicate pattern %q (first on line %d)", pattern, l)
			return
		}
		first[pattern] = n
		t.routes[pattern] = r
		t.raw[pattern] = result
	})
	if err != nil {
		errs = append(errs, fmt.Errorf("%s: %w", path, err))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return t, nil
}

// logicalLines calls fn with each logical line, trimmed, and the number
// of its first physical line. A line starting with whitespace continues
// the one before (joined with a space); lines starting with # are comments.
func logicalLines(data []byte, fn func(n int, line string)) error {
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	cur, start := "", 0
	for n := 1; sc.Scan(); n++ {
		raw := sc.Text()
		trimmed := strings.TrimSpace(raw)
		if trimmed == "" || trimmed[0] == '#' {
			continue
		}
		if (raw[0] == ' ' || raw[0] == '\t') && cur != "" {
			cur += " " + trimmed
			continue
		}
		if cur != "" {
			fn(start, cur)
		}
		start, cur = n, trimmed
	}
	if cur != "" {
		fn(start, cur)
	}
	return sc.Err()
}

// splitKey splits a logical line at its first run of whitespace.
func splitKey(line string) (key, value string) {
	i := strings.IndexAny(line, " \t")
	if i < 0 {
		return line, ""
	}
	return line[:i], strings.TrimSpace(line[i:])
}

func checkPattern(pattern string) string {
	p := pattern
	switch {
	case p == "*":
		return ""
	case strings.ContainsAny(p, "[]<>\"\\:"):
		return fmt.Sprintf("bad pattern %q", p)
	}
	local, domain, at := strings.Cut(p, "@")
	if at {
		if local == "" {
			return fmt.Sprintf("pattern %q: @domain is not a transport(5) form; write the domain alone", p)
		}
		if domain == "" {
			return fmt.Sprintf("pattern %q: user@ patterns are not supported; write user@domain", p)
		}
		p = domain
	} else if strings.HasPrefix(p, ".") {
		p = p[1:]
	}
	if !validDomain(p) {
		return fmt.Sprintf("bad domain in pattern %q", pattern)
	}
	return ""
}

func validDomain(d string) bool {
	if d == "" || strings.HasPrefix(d, ".") || strings.HasSuffix(d, ".") || strings.Contains(d, "..") {
		return false
	}
	return !strings.ContainsAny(d, "@ \t,;/")
}

// ParseResult reads one "transport:nexthop" result.
func ParseResult(s string) (Route, error) {
	name, next, ok := strings.Cut(s, ":")
	if !ok {
		return Route{}, fmt.Errorf("result %q: want transport:nexthop", s)
	}
	name = strings.ToLower(strings.TrimSpace(name))
	next = strings.TrimSpace(next)
	r := Route{Nexthop: next}
	switch name {
	case "":
		if next == "" {
			return r, nil // Default: "do not change"
		}
		fallthrough
	case "smtp", "relay":
		r.Kind = SMTP
		if next == "" {
			return r, nil // the recipient's domain, by MX
		}
		h, err := ParseHop(next)
		if err != nil {
			return Route{}, err
		}
		r.Hop = h
	case "lmtp":
		r.Kind = LMTP
		switch {
		case strings.HasPrefix(next, "unix:"):
			r.Unix = strings.TrimPrefix(next, "unix:")
			if !strings.HasPrefix(r.Unix, "/") {
				return Route{}, fmt.Errorf("lmtp:unix: wants an absolute socket path, got %q", r.Unix)
			}
			return r, nil
		case next == "":
			return Route{}, errors.New("lmtp: needs a next hop (unix:/path, [host]:port or host:port)")
		}
		h, err := ParseHop(strings.TrimPrefix(next, "inet:"))
		if err != nil {
			return Route{}, err
		}
		r.Hop = h
	case "local", "virtual":
		r.Kind = Local
	case "error", "retry":
		r.Kind, r.Enhanced, r.Text = Error, "5.0.0", "delivery refused by the transport table"
		if name == "retry" {
			r.Kind, r.Enhanced, r.Text = Retry, "4.0.0", "delivery deferred by the transport table"
		}
		code, text := splitStatus(next)
		if code != "" {
			if code[0] != r.Enhanced[0] {
				return Route{}, fmt.Errorf("%s: status %s must start with %c", name, code, r.Enhanced[0])
			}
			r.Enhanced = code
		}
		if text != "" {
			r.Text = text
		}
	case "discard":
		r.Kind, r.Enhanced, r.Text = Discard, "2.0.0", "discarded"
		if next != "" {
			r.Text = next
		}
	default:
		return Route{}, fmt.Errorf("unknown transport %q (want smtp, relay, lmtp, local, virtual, error, retry or discard)", name)
	}
	return r, nil
}

// splitStatus splits a leading RFC 3463 code ("5.1.1 text") off s.
func splitStatus(s string) (code, text string) {
	first, rest, _ := strings.Cut(s, " ")
	parts := strings.Split(first, ".")
	if len(parts) != 3 || (first[0] != '2' && first[0] != '4' && first[0] != '5') || len(parts[0]) != 1 {
		return "", s
	}
	for _, p := range parts[1:] {
		if p == "" || len(p) > 3 || strings.Trim(p, "0123456789") != "" {
			return "", s
		}
	}
	return first, strings.TrimSpace(rest)
}

// Lookup finds the route for a recipient address: user@domain, then
// domain, then each parent domain written ".domain" (nearest first), then
// "*". Matching ignores case.
func (t *Table) Lookup(addr string) (Route, bool) {
	if t == nil {
		return Route{}, false
	}
	addr = strings.ToLower(strings.TrimSuffix(addr, "."))
	for _, k := range transportKeys(addr) {
		if r, ok := t.routes[k]; ok {
			return r, true
		}
	}
	return Route{}, false
}
