package greylist

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Limits on a whitelist file: postgrey's own lists have a few hundred
// lines; these only stop a mistake (a mail log given as a whitelist) from
// eating memory.
const (
	maxWhitelistLine    = 4096
	maxWhitelistEntries = 100000
	maxRegexp           = 1024
)

// ClientList is postgrey's whitelist_clients (and the S25R exception
// list): host names with their subdomains, /regexp/ on the client name,
// IP addresses, partial IPv4 addresses and networks.
type ClientList struct {
	Names    []*regexp.Regexp // domain suffixes and /regexp/, on the client name
	Prefixes []netip.Prefix
}

// Match reports whether the client (its verified name, "unknown" when it
// has none, and its address) is on the list, and the entry that matched.
func (l *ClientList) Match(name string, ip netip.Addr) (bool, string) {
	if l == nil {
		return false, ""
	}
	ip = ip.Unmap()
	for _, p := range l.Prefixes {
		if p.Contains(ip) {
			return true, p.String()
		}
	}
	for _, re := range l.Names {
		if re.MatchString(name) {
			return true, re.String()
		}
	}
	return false, ""
}

// Len is the number of entries.
func (l *ClientList) Len() int { return len(l.Names) + len(l.Prefixes) }

// RecipientList is postgrey's whitelist_recipients: a domain with its
// subdomains, user@ (any domain), user@domain (both with any extension
// after the delimiter), /regexp/ on the whole address.
type RecipientList struct {
	Res []*regexp.Regexp
}

// Match reports whether addr is on the list, and the entry that matched.
func (l *RecipientList) Match(addr string) (bool, string) {
	if l == nil {
		return false, ""
	}
	for _, re := range l.Res {
		if re.MatchString(addr) {
			return true, re.String()
		}
	}
	return false, ""
}

// Len is the number of entries.
func (l *RecipientList) Len() int { return len(l.Res) }

// LineError is an entry of a whitelist file that means nothing.
type LineError struct {
	File string
	Line int
	Msg  string
}

func (e *LineError) Error() string { return e.File + ":" + strconv.Itoa(e.Line) + ": " + e.Msg }

// lines calls fn for each entry of a postgrey list: "#" starts a comment,
// blanks around an entry go, empty lines are skipped.
func lines(file string, r io.Reader, fn func(n int, entry string) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 256), maxWhitelistLine)
	n, count := 0, 0
	for sc.Scan() {
		n++
		s := sc.Text()
		if i := strings.IndexByte(s, '#'); i >= 0 {
			s = s[:i]
		}
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if !utf8.ValidString(s) {
			return &LineError{file, n, "not UTF-8"}
		}
		if count++; count > maxWhitelistEntries {
			return &LineError{file, n, "more than " + strconv.Itoa(maxWhitelistEntries) + " entries"}
		}
		if err := fn(n, s); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return &LineError{file, n + 1, "line longer than " + strconv.Itoa(maxWhitelistLine) + " bytes"}
		}
		return fmt.Errorf("%s: %w", file, err)
	}
	return nil
}

// slashRegexp compiles "/re/" case-insensitively (postgrey's qr{...}i).
// RE2 has no back-references or look-around; such a pattern is an error.
func slashRegexp(s string) (*regexp.Regexp, bool, error) {
	if len(s) < 3 || s[0] != '/' || s[len(s)-1] != '/' || strings.ContainsAny(s, " \t") {
		return nil, false, nil
	}
	body := s[1 : len(s)-1]
	if len(body) > maxRegexp {
		return nil, true, fmt.Errorf("regexp longer than %d bytes", maxRegexp)
	}
	re, err := regexp.Compile("(?i)" + body)
	if err != nil {
		return nil, true, fmt.Errorf("regexp %s: %w", s, err)
	}
	return re, true, nil
}

var (
	ipv4Full    = regexp.MustCompile(`^[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}(/[0-9]{1,2})?$`)
	ipv4Partial = regexp.MustCompile(`^[0-9]{1,3}(\.[0-9]{1,3}){1,2}$`)
)

// ParseClients reads a whitelist_clients file (file names the source in
// errors).
func ParseClients(file string, r io.Reader) (*ClientList, error) {
	l := &ClientList{}
	err := lines(file, r, func(n int, s string) error {
		if re, ok, err := slashRegexp(s); ok {
			if err != nil {
				return &LineError{file, n, err.Error()}
			}
			l.Names = append(l.Names, re)
			return nil
		}
		switch {
		case ipv4Full.MatchString(s) || strings.Contains(s, ":"):
			p, err := parsePrefix(s)
			if err != nil {
				return &LineError{file, n, err.Error()}
			}
			l.Prefixes = append(l.Prefixes, p)
		case ipv4Partial.MatchString(s):
			// "192.0.2" is 192.0.2.0/24, "192.0" 192.0.0.0/16: the numbers
			// given are checked.
			parts := strings.Split(s, ".")
			p, err := parsePrefix(s + strings.Repeat(".0", 4-len(parts)) + "/" + strconv.Itoa(8*len(parts)))
			if err != nil {
				return &LineError{file, n, err.Error()}
			}
			l.Prefixes = append(l.Prefixes, p)
		case strings.ContainsAny(s, " \t"):
			return &LineError{file, n, strconv.Quote(s) + " does not look like a host name"}
		default:
			// A host name stands for itself and its subdomains.
			l.Names = append(l.Names, regexp.MustCompile(`(?i)(?:^|\.)`+regexp.QuoteMeta(strings.TrimSuffix(s, "."))+`$`))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return l, nil
}

// parsePrefix reads an address or a network; the network is masked
// ("192.0.2.7/24" is 192.0.2.0/24).
func parsePrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("%q is not an address or network", s)
		}
		return netip.PrefixFrom(p.Addr().Unmap(), p.Bits()).Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%q is not an address or network", s)
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// ParseRecipients reads a whitelist_recipients file; delims are the
// recipient delimiter characters ("+" when empty).
func ParseRecipients(file string, r io.Reader, delims string) (*RecipientList, error) {
	if delims == "" {
		delims = "+"
	}
	ext := `(?:[` + regexp.QuoteMeta(delims) + `][^@]*)?`
	l := &RecipientList{}
	err := lines(file, r, func(n int, s string) error {
		if re, ok, err := slashRegexp(s); ok {
			if err != nil {
				return &LineError{file, n, err.Error()}
			}
			l.Res = append(l.Res, re)
			return nil
		}
		if strings.ContainsAny(s, " \t") {
			return &LineError{file, n, strconv.Quote(s) + " does not look like an address"}
		}
		user, domain, at := strings.Cut(s, "@")
		var pat string
		switch {
		case at && domain != "": // user@domain, with any extension
			pat = `^` + regexp.QuoteMeta(user) + ext + `@` + regexp.QuoteMeta(domain) + `$`
		case at: // user@ in any domain
			pat = `^` + regexp.QuoteMeta(user) + ext + `@`
		default: // a domain and its subdomains
			pat = `(?:@|\.)` + regexp.QuoteMeta(user) + `$`
		}
		l.Res = append(l.Res, regexp.MustCompile(`(?i)`+pat))
		return nil
	})
	if err != nil {
		return nil, err
	}
	return l, nil
}

// loadClients reads and merges whitelist_clients files.
func loadClients(files []string) (*ClientList, error) {
	all := &ClientList{}
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			return nil, fmt.Errorf("greylist: %w", err)
		}
		l, err := ParseClients(f, fh)
		fh.Close()
		if err != nil {
			return nil, fmt.Errorf("greylist: %w", err)
		}
		all.Names = append(all.Names, l.Names...)
		all.Prefixes = append(all.Prefixes, l.Prefixes...)
	}
	return all, nil
}

// loadRecipients reads and merges whitelist_recipients files.
func loadRecipients(files []string, delims string) (*RecipientList, error) {
	all := &RecipientList{}
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			return nil, fmt.Errorf("greylist: %w", err)
		}
		l, err := ParseRecipients(f, fh, delims)
		fh.Close()
		if err != nil {
			return nil, fmt.Errorf("greylist: %w", err)
		}
		all.Res = append(all.Res, l.Res...)
	}
	return all, nil
}
