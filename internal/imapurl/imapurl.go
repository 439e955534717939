// Package imapurl parses IMAP URLs (RFC 5092) as the IMAP server meets
// them in CATENATE (RFC 4469): absolute ones ("imap://user@host/INBOX;
// UIDVALIDITY=1/;UID=2/;SECTION=1.2"), absolute paths ("/INBOX;UID=2")
// and the relative form ";UID=2/;SECTION=1" resolved against the
// selected mailbox. It knows nothing of mailboxes or sessions.
package imapurl

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// MaxLen bounds the URLs Parse accepts.
const MaxLen = 8 << 10

// URL is one parsed IMAP URL. Strings are percent-decoded.
type URL struct {
	// Server is set when the URL names a server ("imap://" or "//").
	Server bool
	User   string // enc-user decoded; "" when absent
	Auth   string // ";AUTH=" type ("*" for any); "" when absent
	Host   string
	Port   int // 0 when absent

	// Mailbox is the mailbox name in UTF-8 (RFC 5092 3.3); HasMailbox
	// is false for a relative URL that starts at ";UID=".
	Mailbox     string
	HasMailbox  bool
	UIDValidity uint32 // 0 when absent
	UID         uint32 // 0 when absent
	Section     string // the section-spec, e.g. "1.2.MIME"; "" when absent
	Partial     *Partial
	// Expire and URLAuth are the URLAUTH parts (RFC 4467 2), verbatim;
	// "" when absent.
	Expire  string
	URLAuth string
}

// Partial is ";PARTIAL=offset[.length]" (RFC 5092 5); Length 0 means
// to the end.
type Partial struct {
	Offset, Length uint32
}

// ErrSyntax is wrapped by every error Parse returns.
var ErrSyntax = errors.New("imapurl: invalid IMAP URL")

func errorf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrSyntax}, args...)...)
}

// Parse parses an IMAP URL or a relative reference to one (RFC 5092 7).
func Parse(s string) (*URL, error) {
	if len(s) > MaxLen {
		return nil, errorf("too long")
	}
	u := &URL{}
	rest := s
	switch {
	case len(s) >= 7 && strings.EqualFold(s[:7], "imap://"):
		rest = s[5:]
		fallthrough
	case strings.HasPrefix(rest, "//"):
		u.Server = true
		end := strings.IndexByte(rest[2:], '/')
		if end < 0 {
			end = len(rest) - 2
		}
		if err := u.server(rest[2 : 2+end]); err != nil {
			return nil, err
		}
		rest = rest[2+end:]
		if rest == "" || rest == "/" {
			return u, nil
		}
	}
	if strings.HasPrefix(rest, "/") {
		var err error
		if rest, err = u.mailbox(rest[1:]); err != nil {
			return nil, err
		}
		return u, u.params(rest, stageValidity)
	}
	if u.Server {
		return nil, errorf("expected a path after the server")
	}
	if !strings.HasPrefix(rest, ";") {
		return nil, errorf("expected a path or ;UID=")
	}
	// A relative reference starting with a parameter (RFC 5092 7.2):
	// only iuid, isection and ipartial can stand first.
	return u, u.params(rest, stageUID)
}

// server parses [iuserinfo "@"] host [":" port].
func (u *URL) server(s string) error {
	if i := strings.LastIndexByte(s, '@'); i >= 0 {
		info := s[:i]
		s = s[i+1:]
		if j := indexFold(info, ";AUTH="); j >= 0 {
			auth := info[j+len(";AUTH="):]
			if auth != "*" {
				var err error
				if auth, err = decode(auth, isAChar); err != nil || auth == "" {
					return errorf("bad ;AUTH=")
				}
			}
			u.Auth = auth
			info = info[:j]
		}
		if info != "" {
			user, err := decode(info, isAChar)
			if err != nil {
				return err
			}
			u.User = user
		} else if u.Auth == "" {
			return errorf("empty user")
		}
	}
	host := s
	if strings.HasPrefix(s, "[") {
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return errorf("unterminated IP literal")
		}
		host, s = s[:end+1], s[end+1:]
	} else if i := strings.IndexByte(s, ':'); i >= 0 {
		host, s = s[:i], s[i:]
	} else {
		s = ""
	}
	if host == "" || strings.ContainsFunc(host, func(r rune) bool {
		return r <= ' ' || r >= 0x7f || strings.ContainsRune("/?#@;\"<>\\^`{|}", r)
	}) {
		return errorf("bad host")
	}
	u.Host = host
	if s != "" {
		if s[0] != ':' {
			return errorf("bad port")
		}
		p, err := strconv.Atoi(s[1:])
		if err != nil || p <= 0 || p > 65535 || s[1] == '+' {
			return errorf("bad port")
		}
		u.Port = p
	}
	return nil
}

// mailbox reads enc-mailbox up to the first ";" and returns the rest.
func (u *URL) mailbox(s string) (string, error) {
	end := strings.IndexByte(s, ';')
	if end < 0 {
		end = len(s)
	}
	enc := s[:end]
	rest := s[end:]
	// "/;UID=" follows the mailbox directly: the slash is no part of it.
	if strings.HasSuffix(enc, "/") && rest != "" {
		enc, rest = enc[:len(enc)-1], "/"+rest
	}
	if strings.ContainsAny(enc, "?#") {
		return "", errorf("search and fragment parts are not supported")
	}
	name, err := decode(enc, isBChar)
	if err != nil {
		return "", err
	}
	if name == "" {
		return "", errorf("empty mailbox")
	}
	if !utf8.ValidString(name) {
		return "", errorf("mailbox not UTF-8")
	}
	u.Mailbox, u.HasMailbox = name, true
	return rest, nil
}

// The parameters in their order (RFC 5092 11, RFC 4467 2).
const (
	stageValidity = iota
	stageUID
	stageSection
	stagePartial
	stageExpire
	stageURLAuth
	stageEnd
)

var paramStage = map[string]int{
	"UIDVALIDITY": stageValidity, "UID": stageUID, "SECTION": stageSection,
	"PARTIAL": stagePartial, "EXPIRE": stageExpire, "URLAUTH": stageURLAuth,
}

// slashed: which parameters are their own path segment ("/;UID=").
var slashed = [stageEnd]bool{stageUID: true, stageSection: true, stagePartial: true}

// params reads the ";NAME=value" parameters from the first allowed
// stage on. The first one of a relative reference has no slash.
func (u *URL) params(s string, from int) error {
	first := from == stageUID && !u.HasMailbox
	next := from
	for s != "" {
		slash := strings.HasPrefix(s, "/")
		if slash {
			s = s[1:]
		}
		if !strings.HasPrefix(s, ";") {
			return errorf("expected ;NAME= at %q", s)
		}
		eq := strings.IndexByte(s, '=')
		if eq < 0 {
			return errorf("expected = in %q", s)
		}
		name := strings.ToUpper(s[1:eq])
		st, ok := paramStage[name]
		if !ok {
			return errorf("unknown parameter %s", name)
		}
		if st < next {
			return errorf("%s out of order", name)
		}
		if slash != (slashed[st] && !first) {
			return errorf("misplaced / before %s", name)
		}
		if st == stageSection && !first && u.UID == 0 {
			return errorf("SECTION without UID")
		}
		first = false
		next = st + 1
		value := s[eq+1:]
		end := len(value)
		for _, sep := range []string{"/;", ";"} {
			if i := strings.Index(value, sep); i >= 0 && i < end {
				end = i
			}
		}
		if st == stageURLAuth {
			end = len(value) // the last parameter: its token ends the URL
		}
		s = value[end:]
		if err := u.set(st, value[:end]); err != nil {
			return err
		}
	}
	return nil
}

func (u *URL) set(st int, v string) error {
	var err error
	switch st {
	case stageValidity:
		u.UIDValidity, err = nzNumber(v)
	case stageUID:
		u.UID, err = nzNumber(v)
	case stageSection:
		u.Section, err = decode(v, isBChar)
		if err == nil && u.Section == "" {
			err = errorf("empty section")
		}
	case stagePartial:
		off, length, dot := strings.Cut(v, ".")
		p := &Partial{}
		if p.Offset, err = number(off); err == nil && dot {
			p.Length, err = nzNumber(length)
		}
		u.Partial = p
	case stageExpire:
		if v == "" || strings.ContainsFunc(v, func(r rune) bool { return r <= ' ' || r >= 0x7f }) {
			err = errorf("bad EXPIRE")
		}
		u.Expire = v
	case stageURLAuth:
		if v == "" || strings.ContainsFunc(v, func(r rune) bool { return r <= ' ' || r >= 0x7f }) {
			err = errorf("bad URLAUTH")
		}
		u.URLAuth = v
	}
	return err
}

// Resolve completes a relative URL from base, the URL of the selected
// mailbox (RFC 3986 5.2 as RFC 5092 7 applies it): ";UID=n..." takes the
// base's mailbox and UIDVALIDITY. A URL without UID, or relative with no
// base, is an error.
func (u *URL) Resolve(base *URL) error {
	if !u.HasMailbox {
		if base == nil || !base.HasMailbox {
			return errorf("relative URL with no mailbox selected")
		}
		u.Mailbox, u.HasMailbox, u.UIDValidity = base.Mailbox, true, base.UIDValidity
		u.Server, u.User, u.Auth, u.Host, u.Port = base.Server, base.User, base.Auth, base.Host, base.Port
	}
	if u.UID == 0 {
		return errorf("no ;UID=")
	}
	return nil
}

func number(s string) (uint32, error) {
	if s == "" || len(s) > 10 || strings.TrimLeft(s, "0123456789") != "" {
		return 0, errorf("bad number %q", s)
	}
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil {
		return 0, errorf("bad number %q", s)
	}
	return uint32(n), nil
}

func nzNumber(s string) (uint32, error) {
	n, err := number(s)
	if err == nil && (n == 0 || s[0] == '0') {
		err = errorf("bad nz-number %q", s)
	}
	return n, err
}

// decode undoes percent-encoding, accepting literally only the bytes ok
// allows (RFC 3986 2.1).
func decode(s string, ok func(byte) bool) (string, error) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '%' {
			if i+2 >= len(s) {
				return "", errorf("truncated %%-escape")
			}
			hi, lo := unhex(s[i+1]), unhex(s[i+2])
			if hi < 0 || lo < 0 {
				return "", errorf("bad %%-escape")
			}
			b.WriteByte(byte(hi<<4 | lo))
			i += 2
			continue
		}
		if !ok(c) {
			return "", errorf("character %q must be %%-encoded", c)
		}
		b.WriteByte(c)
	}
	return b.String(), nil
}

func unhex(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// Character classes of RFC 5092 11: uchar is unreserved and the
// sub-delimiters but "=" and ";"; achar adds "&" and "="; bchar ":", "@"
// and "/".
func isUChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		strings.IndexByte("-._~!$'()*+,", c) >= 0
}
func isAChar(c byte) bool { return isUChar(c) || c == '&' || c == '=' }
func isBChar(c byte) bool { return isAChar(c) || c == ':' || c == '@' || c == '/' }

// indexFold finds the upper-case ASCII sub in s, ignoring ASCII case.
func indexFold(s, sub string) int {
	for i := 0; i+len(sub) <= len(s); i++ {
		if strings.EqualFold(s[i:i+len(sub)], sub) {
			return i
		}
	}
	return -1
}

// RespText makes s fit a [BADURL url-resp-text] response code (RFC 4469
// 5): TEXT-CHARs except "]", so "]" and anything else are %-encoded.
func RespText(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || c == ']' || c == '%' && !validEscape(s[i:]) {
			fmt.Fprintf(&b, "%%%02X", c)
			continue
		}
		b.WriteByte(c)
	}
	if b.Len() == 0 {
		return "%20"
	}
	return b.String()
}

func validEscape(s string) bool {
	return len(s) >= 3 && unhex(s[1]) >= 0 && unhex(s[2]) >= 0
}
