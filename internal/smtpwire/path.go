package smtpwire

import (
	"io"
	"net/netip"
	"strings"
	"unicode/utf8"
)

// Path is a reverse-path (MAIL) or forward-path (RCPT), RFC 5321 4.1.2.
type Path struct {
	// Addr is "local@domain" exactly as the client wrote it (a quoted local
	// part stays quoted: `"x@inner.test"@remote.test`), without the source
	// route; "" for the null path <>; the bare local part for <postmaster>.
	Addr   string
	Local  string // the local part as written (quoted form kept)
	Domain string // the domain or address literal as written ([192.0.2.1], [IPv6:...]); "" for <postmaster>
	UTF8   bool   // the address contains non-ASCII (UTF-8) bytes (RFC 6531)
}

// IsNull reports the null reverse-path <>.
func (p Path) IsNull() bool { return p.Addr == "" }

// Param is one ESMTP parameter of MAIL or RCPT (RFC 5321 4.1.2 esmtp-param)
// or one XCLIENT/XFORWARD attribute.
type Param struct {
	Key   string // upper-cased
	Value string // "" when the keyword has no value
}

// Address length limits. RFC 5321 4.5.3.1.1 sets 64 octets for a local part
// and 4.5.3.1.2 255 for a domain; real senders exceed 64, so local parts up
// to 256 octets are accepted.
const (
	MaxLocal  = 256
	MaxDomain = 255
	maxLabel  = 63
)

var (
	errMailSyntax = newError(501, "5.5.4", "Syntax: MAIL FROM:<address>")
	errRcptSyntax = newError(501, "5.5.4", "Syntax: RCPT TO:<address>")
	errMailAddr   = newError(501, "5.1.7", "Bad sender address syntax")
	errRcptAddr   = newError(501, "5.1.3", "Bad recipient address syntax")
	errParamMail  = newError(501, "5.5.4", "Syntax: MAIL FROM:<address> [parameter=value ...]")
	errParamRcpt  = newError(501, "5.5.4", "Syntax: RCPT TO:<address> [parameter=value ...]")
)

// ParseMail parses the argument of MAIL: "FROM:<reverse-path> [SP params]"
// (RFC 5321 4.1.1.2). Like Postfix it tolerates spaces after the colon and
// trailing spaces; the angle brackets are required. The null path <> is
// allowed. Errors are *Error: 501 5.5.4 for bad syntax, 501 5.1.7 for a bad
// address, which includes any control character (0x00-0x1f, 0x7f), quoted or
// not, and invalid UTF-8.
func ParseMail(arg string) (Path, []Param, error) {
	return parseCommand(arg, "FROM:", false)
}

// ParseRcpt parses the argument of RCPT: "TO:<forward-path> [SP params]"
// (RFC 5321 4.1.1.3), with the rules of ParseMail and the codes 501 5.5.4
// and 501 5.1.3. The null path is an error; <postmaster> in any case and
// without a domain is accepted with Domain "" (RFC 5321 4.5.1).
func ParseRcpt(arg string) (Path, []Param, error) {
	return parseCommand(arg, "TO:", true)
}

func parseCommand(arg, prefix string, rcpt bool) (Path, []Param, error) {
	errSyntax, errAddr, errParam := errMailSyntax, errMailAddr, errParamMail
	if rcpt {
		errSyntax, errAddr, errParam = errRcptSyntax, errRcptAddr, errParamRcpt
	}
	if len(arg) < len(prefix) || !strings.EqualFold(arg[:len(prefix)], prefix) {
		return Path{}, nil, errSyntax
	}
	s := strings.TrimLeft(arg[len(prefix):], " ")
	if len(s) == 0 || s[0] != '<' {
		return Path{}, nil, errSyntax
	}
	end := closingBracket(s)
	if end < 0 {
		if hasCtl(s) {
			// The bracket may be missing because the address holds a
			// control character: report it as the address error.
			return Path{}, nil, errAddr
		}
		return Path{}, nil, errSyntax
	}
	raw, rest := s[1:end], strings.TrimRight(s[end+1:], " ")
	if rest != "" && rest[0] != ' ' {
		return Path{}, nil, errSyntax
	}
	p, ok := parsePath(raw, rcpt)
	if !ok || (rcpt && p.Addr == "") {
		return Path{}, nil, errAddr
	}
	params, ok := splitParams(rest)
	if !ok {
		return Path{}, nil, errParam
	}
	return p, params, nil
}

// closingBracket returns the index of the '>' ending the path that starts
// with '<' at s[0], skipping quoted strings (a quoted local part may hold
// '>'), or -1.
func closingBracket(s string) int {
	quoted := false
	for i := 1; i < len(s); i++ {
		switch c := s[i]; {
		case quoted && c == '\\':
			i++
		case c == '"':
			quoted = !quoted
		case !quoted && c == '>':
			return i
		}
	}
	return -1
}

// parsePath parses what stands between the angle brackets:
// [ A-d-l ":" ] Mailbox (RFC 5321 4.1.2), RFC 6531 UTF-8 allowed.
func parsePath(s string, rcpt bool) (Path, bool) {
	if s == "" {
		return Path{}, true
	}
	if hasCtl(s) {
		return Path{}, false
	}
	if !isASCII(s) && !validUTF8(s) {
		return Path{}, false
	}
	if s[0] == '@' {
		// Source route: accepted and ignored (RFC 5321 4.1.2, appendix C).
		i := strings.IndexByte(s, ':')
		if i < 0 || !validRoute(s[:i]) {
			return Path{}, false
		}
		s = s[i+1:]
	}
	local, domain, ok := splitMailbox(s)
	if !ok {
		return Path{}, false
	}
	if domain == "" {
		// RFC 5321 4.5.1: <postmaster> without a domain, RCPT only.
		if !rcpt || !strings.EqualFold(local, "postmaster") {
			return Path{}, false
		}
		return Path{Addr: local, Local: local}, true
	}
	if !validDomainOrLiteral(domain) {
		return Path{}, false
	}
	return Path{Addr: s, Local: local, Domain: domain, UTF8: !isASCII(s)}, true
}

// splitMailbox splits Local-part "@" Domain, checking the local part.
// It returns domain "" when s has no '@' after a valid local part.
func splitMailbox(s string) (local, domain string, ok bool) {
	var n int
	if s != "" && s[0] == '"' {
		n = quotedLen(s)
	} else {
		n = dotStringLen(s)
	}
	if n <= 0 || n > MaxLocal {
		return "", "", false
	}
	local, rest := s[:n], s[n:]
	if rest == "" {
		return local, "", true
	}
	if rest[0] != '@' || len(rest) == 1 {
		return "", "", false
	}
	return local, rest[1:], true
}

// dotStringLen returns the length of the Dot-string at the start of s, or 0.
// Tolerance (as Postfix): dots may lead, trail or repeat ("a..b", "a."),
// which some large providers hand out.
func dotStringLen(s string) int {
	i := 0
	for i < len(s) && (isAtext(s[i]) || s[i] == '.') {
		i++
	}
	if strings.Trim(s[:i], ".") == "" {
		return 0
	}
	return i
}

// quotedLen returns the length of the Quoted-string at the start of s
// (RFC 5321 4.1.2 QcontentSMTP, RFC 6531 UTF-8 in qtext), or 0.
func quotedLen(s string) int {
	for i := 1; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"':
			return i + 1
		case c == '\\':
			// quoted-pairSMTP = %d92 %d32-126
			if i+1 >= len(s) || s[i+1] < 32 || s[i+1] > 126 {
				return 0
			}
			i++
		case c < 32 || c == 127:
			return 0
		}
	}
	return 0
}

// isAtext reports RFC 5322 atext, plus the bytes of UTF-8 non-ASCII
// characters (RFC 6531 3.3); the caller checks UTF-8 validity.
func isAtext(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c >= 0x80:
		return true
	}
	return strings.IndexByte("!#$%&'*+-/=?^_`{|}~", c) >= 0
}

func validRoute(s string) bool {
	for _, d := range strings.Split(s, ",") {
		if len(d) < 2 || d[0] != '@' || !validDomain(d[1:]) {
			return false
		}
	}
	return true
}

func validDomainOrLiteral(d string) bool {
	if d[0] == '[' {
		return validLiteral(d)
	}
	return validDomain(d)
}

// validDomain checks Domain = sub-domain *("." sub-domain) (RFC 5321 4.1.2),
// with U-labels (RFC 6531) and, as a tolerance, underscores.
func validDomain(d string) bool {
	if d == "" || len(d) > MaxDomain {
		return false
	}
	for label := range strings.SplitSeq(d, ".") {
		if label == "" || len(label) > maxLabel || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c >= 0x80) {
				return false
			}
		}
	}
	return true
}

// validLiteral checks address-literal (RFC 5321 4.1.3): [IPv4], [IPv6:addr]
// or [tag:dcontent].
func validLiteral(d string) bool {
	if len(d) < 3 || d[len(d)-1] != ']' || len(d) > MaxDomain {
		return false
	}
	in := d[1 : len(d)-1]
	colon := strings.IndexByte(in, ':')
	if colon < 0 {
		a, err := netip.ParseAddr(in)
		return err == nil && a.Is4()
	}
	tag, val := in[:colon], in[colon+1:]
	if strings.EqualFold(tag, "IPv6") {
		a, err := netip.ParseAddr(val)
		return err == nil && a.Is6() && a.Zone() == ""
	}
	// General-address-literal = Standardized-tag ":" 1*dcontent
	if tag == "" || val == "" || !validDomain(tag) || strings.IndexByte(tag, '.') >= 0 {
		return false
	}
	for i := 0; i < len(val); i++ {
		if c := val[i]; c < 33 || c > 126 || c == '[' || c == ']' || c == '\\' {
			return false
		}
	}
	return true
}

// hasCtl reports a control character: 0x00-0x1f or 0x7f (TAB included).
func hasCtl(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == 0x7f {
			return true
		}
	}
	return false
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// validUTF8 reports valid UTF-8 without C1 control characters (U+0080-U+009F).
func validUTF8(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r >= 0x80 && r <= 0x9f {
			return false
		}
	}
	return true
}

// splitParams splits " KEY[=VALUE] KEY[=VALUE]..." (RFC 5321 4.1.2
// esmtp-param; RFC 6531 allows UTF-8 in values). Runs of spaces are
// tolerated.
func splitParams(s string) ([]Param, bool) {
	var ps []Param
	for f := range strings.FieldsFuncSeq(s, func(r rune) bool { return r == ' ' }) {
		key, val, hasVal := strings.Cut(f, "=")
		if !validKeyword(key) || (hasVal && !validValue(val)) {
			return nil, false
		}
		ps = append(ps, Param{Key: strings.ToUpper(key), Value: val})
	}
	return ps, true
}

// validKeyword: esmtp-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-").
func validKeyword(k string) bool {
	if k == "" || k[0] == '-' || len(k) > 64 {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// validValue: esmtp-value = 1*(%d33-60 / %d62-126 / UTF8-non-ascii).
func validValue(v string) bool {
	if v == "" {
		return false
	}
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < 33 || c == '=' || c == 127 {
			return false
		}
	}
	return isASCII(v) || validUTF8(v)
}

// RequireASCII returns 553 5.6.7 when p holds non-ASCII characters and the
// transaction did not ask for SMTPUTF8 (RFC 6531 3.4), nil otherwise. The
// address is quoted in the reply with non-ASCII characters written as
// \x{HEX} (RFC 6533 embedded-unicode-char), so the reply stays ASCII.
func RequireASCII(p Path, utf8 bool, rcpt bool) error {
	if !p.UTF8 || utf8 {
		return nil
	}
	who := "Sender"
	if rcpt {
		who = "Recipient"
	}
	return newError(553, "5.6.7", "<"+asciiAddr(p.Addr)+">: "+who+
		" address contains non-ASCII characters, but SMTPUTF8 was not requested")
}

func asciiAddr(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r < 0x80 {
			b.WriteRune(r)
			continue
		}
		b.WriteString(`\x{`)
		b.WriteString(strings.ToUpper(hex(uint32(r))))
		b.WriteByte('}')
	}
	return b.String()
}

func hex(v uint32) string {
	const digits = "0123456789ABCDEF"
	var buf [8]byte
	i := len(buf)
	for v > 0 || i > len(buf)-2 {
		i--
		buf[i] = digits[v&15]
		v >>= 4
	}
	return string(buf[i:])
}

func errUnexpectedEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}
