package imapwire

import (
	"bufio"
	"errors"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// DefaultMaxQuoted is the longest string Writer sends quoted.
const DefaultMaxQuoted = 1024

// ErrInvalidToken is the sticky error of a Writer given an atom, flag or
// response code containing CR, LF or NUL.
var ErrInvalidToken = errors.New("imapwire: CR, LF or NUL in atom")

// Writer writes response lines token by token. Tokens are separated by a
// space automatically, except after "(" and before ")". Errors are sticky
// and reported by Err and Flush. A Writer is not safe for concurrent use.
//
//	w.Untagged().Num(12).Atom("FETCH").Open().Atom("UID").Num(5).
//		Atom("FLAGS").Flags(flags).Close().End()
//	w.Status("a1", "OK", "READ-WRITE", "SELECT completed")
type Writer struct {
	// UTF8 allows UTF-8 in quoted strings and mailbox names; set it after
	// the client sent ENABLE UTF8=ACCEPT (RFC 6855, RFC 9051).
	UTF8 bool
	// MaxQuoted is the longest string sent quoted; longer ones are sent
	// as literals.
	MaxQuoted int

	// Under, when set, is flushed by Flush after the buffer is written
	// out: a compressor under the buffer (COMPRESS, RFC 4978), whose
	// output must end there for the client to read the responses.
	Under interface{ Flush() error }

	bw     *bufio.Writer
	needSP bool
	err    error
}

// NewWriter returns a Writer on w (used directly if it is a *bufio.Writer).
func NewWriter(w io.Writer) *Writer {
	bw, ok := w.(*bufio.Writer)
	if !ok {
		bw = bufio.NewWriter(w)
	}
	return &Writer{bw: bw, MaxQuoted: DefaultMaxQuoted}
}

func (w *Writer) raw(s string) {
	if w.err == nil {
		_, w.err = w.bw.WriteString(s)
	}
}

// token writes s, preceded by a space unless at the start of a line or
// list.
func (w *Writer) token(s string) *Writer {
	if w.needSP {
		w.raw(" ")
	}
	w.raw(s)
	w.needSP = true
	return w
}

func hasCtl(s string) bool { return strings.ContainsAny(s, "\r\n\x00") }

// Untagged starts an untagged response line ("* ").
func (w *Writer) Untagged() *Writer {
	w.needSP = false
	return w.token("*")
}

// Tagged starts a tagged response line.
func (w *Writer) Tagged(tag string) *Writer {
	w.needSP = false
	return w.Atom(tag)
}

// Atom writes s as is: an atom, a number or a pre-formatted token such as
// `\Seen` or "BODY[HEADER.FIELDS (From)]<0>". CR, LF and NUL are refused.
func (w *Writer) Atom(s string) *Writer {
	if hasCtl(s) && w.err == nil {
		w.err = ErrInvalidToken
	}
	return w.token(s)
}

// Num writes a number.
func (w *Writer) Num(n uint32) *Writer { return w.token(strconv.FormatUint(uint64(n), 10)) }

// Num64 writes a 64-bit number (sizes, mod-sequences).
func (w *Writer) Num64(n uint64) *Writer { return w.token(strconv.FormatUint(n, 10)) }

// NIL writes NIL.
func (w *Writer) NIL() *Writer { return w.token("NIL") }

// Open starts a parenthesized list.
func (w *Writer) Open() *Writer {
	w.token("(")
	w.needSP = false
	return w
}

// Close ends a parenthesized list.
func (w *Writer) Close() *Writer {
	w.raw(")")
	w.needSP = true
	return w
}

// quotable reports whether s may be sent as a quoted string.
func (w *Writer) quotable(s string) bool {
	limit := w.MaxQuoted
	if limit <= 0 {
		limit = DefaultMaxQuoted
	}
	if len(s) > limit || hasCtl(s) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return w.UTF8 && utf8.ValidString(s)
		}
	}
	return true
}

func quote(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' || s[i] == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	b.WriteByte('"')
	return b.String()
}

// String writes s as a quoted string, or as a literal when it contains
// CR, LF or NUL, 8-bit data (unless UTF8 and valid UTF-8), or is longer
// than MaxQuoted.
func (w *Writer) String(s string) *Writer {
	if w.quotable(s) {
		return w.quoted(s)
	}
	return w.Literal([]byte(s))
}

// quoted writes s as a quoted string straight into the buffer (this is
// most of what ENVELOPE output is made of).
func (w *Writer) quoted(s string) *Writer {
	if w.needSP {
		w.raw(" ")
	}
	w.raw(`"`)
	start := 0
	for i := 0; i < len(s); i++ {
		if s[i] == '"' || s[i] == '\\' {
			w.raw(s[start:i])
			w.raw("\\")
			start = i
		}
	}
	w.raw(s[start:])
	w.raw(`"`)
	w.needSP = true
	return w
}

// NString writes s, or NIL when ok is false.
func (w *Writer) NString(s string, ok bool) *Writer {
	if !ok {
		return w.NIL()
	}
	return w.String(s)
}

// astringToken returns s as an atom if it is one (and not NIL), else quoted.
func astringToken(s string) string {
	if s == "" || strings.EqualFold(s, "NIL") {
		return quote(s)
	}
	for i := 0; i < len(s); i++ {
		if !isAStringChar(s[i]) {
			return quote(s)
		}
	}
	return s
}

// AString writes s as an atom when possible, else as a string. Strings
// longer than MaxQuoted are never atoms.
func (w *Writer) AString(s string) *Writer {
	if t := astringToken(s); t == s && w.quotable(s) {
		return w.token(s)
	}
	return w.String(s)
}

// Mailbox writes a mailbox name given in UTF-8: encoded in modified
// UTF-7 (RFC 3501 5.1.3) unless UTF8 is set.
func (w *Writer) Mailbox(name string) *Writer {
	if strings.EqualFold(name, "INBOX") {
		return w.token("INBOX")
	}
	if !w.UTF8 {
		name = EncodeMailboxName(name)
	}
	return w.AString(name)
}

// Literal writes b as a literal.
func (w *Writer) Literal(b []byte) *Writer {
	w.token("{" + strconv.Itoa(len(b)) + "}\r\n")
	if w.err == nil {
		_, w.err = w.bw.Write(b)
	}
	return w
}

// LiteralFrom writes n octets read from r as a literal, or as a literal8
// (~{n}, for BINARY responses) when binary is set.
func (w *Writer) LiteralFrom(r io.Reader, n int64, binary bool) *Writer {
	p := "{"
	if binary {
		p = "~{"
	}
	w.token(p + strconv.FormatInt(n, 10) + "}\r\n")
	if w.err == nil {
		var m int64
		m, w.err = io.CopyN(w.bw, r, n)
		if w.err == io.EOF && m < n {
			w.err = io.ErrUnexpectedEOF
		}
	}
	return w
}

// Flags writes a parenthesized flag list.
func (w *Writer) Flags(flags []string) *Writer {
	w.Open()
	for _, f := range flags {
		w.Atom(f)
	}
	return w.Close()
}

// List writes a parenthesized list of atoms.
func (w *Writer) List(atoms ...string) *Writer { return w.Flags(atoms) }

// DateTime writes t as a quoted date-time ("17-Jul-1996 02:44:25 -0700").
func (w *Writer) DateTime(t time.Time) *Writer { return w.token(quote(FormatDateTime(t))) }

// SeqSet writes a sequence set.
func (w *Writer) SeqSet(s SeqSet) *Writer { return w.token(s.String()) }

// sanitizeText makes s safe as resp-text: no CR, LF or NUL.
func sanitizeText(s string) string {
	return strings.Map(func(c rune) rune {
		if c == '\r' || c == '\n' || c == 0 {
			return ' '
		}
		return c
	}, s)
}

// Text writes resp-text: "[code] text". code is a pre-formatted response
// code with its arguments ("UIDVALIDITY 3857529045", "BADCHARSET (UTF-8)").
// CR, LF and NUL in text become spaces; an empty text becomes "done"; a
// text starting with "[" but no code is prefixed with "-" so that it is
// not taken for a response code.
func (w *Writer) Text(code, text string) *Writer {
	text = sanitizeText(text)
	if text == "" {
		text = "done"
	}
	if code == "" && strings.HasPrefix(text, "[") {
		text = "-" + text
	}
	if code != "" {
		if hasCtl(code) && w.err == nil {
			w.err = ErrInvalidToken
		}
		text = "[" + code + "] " + text
	}
	return w.token(text)
}

// End ends the current line with CRLF.
func (w *Writer) End() *Writer {
	w.raw("\r\n")
	w.needSP = false
	return w
}

// Status writes a whole status response line: tagged when tag is not
// empty, else untagged. status is OK, NO, BAD, PREAUTH or BYE.
func (w *Writer) Status(tag, status, code, text string) *Writer {
	if tag == "" {
		w.Untagged()
	} else {
		w.Tagged(tag)
	}
	return w.Atom(status).Text(code, text).End()
}

// Continuation writes a continuation request "+ text" line.
func (w *Writer) Continuation(text string) *Writer {
	w.needSP = false
	w.token("+")
	w.token(sanitizeText(text))
	return w.End()
}

// Write writes p unchanged, so that a Writer can be handed to NewReader
// for continuation requests. Do not call it in the middle of a line.
func (w *Writer) Write(p []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	n, err := w.bw.Write(p)
	w.err = err
	return n, err
}

// Flush sends buffered output and returns the first error met.
func (w *Writer) Flush() error {
	if w.err != nil {
		return w.err
	}
	w.err = w.bw.Flush()
	if w.err == nil && w.Under != nil {
		w.err = w.Under.Flush()
	}
	return w.err
}

// Err returns the first error met.
func (w *Writer) Err() error { return w.err }
