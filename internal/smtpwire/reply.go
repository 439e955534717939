package smtpwire

import (
	"bufio"
	"strconv"
)

// Error is a complete SMTP reply the caller sends as it is:
// "Code Enhanced Text" (RFC 5321 4.2, RFC 3463 enhanced status code).
type Error struct {
	Code     int
	Enhanced string // "5.5.4"; "" when the reply has none
	Text     string
}

// Error returns the reply line without CRLF: "501 5.5.4 Syntax: MAIL FROM:<address>".
func (e *Error) Error() string {
	s := strconv.Itoa(e.Code) + " "
	if e.Enhanced != "" {
		s += e.Enhanced + " "
	}
	return s + e.Text
}

func newError(code int, enhanced, text string) *Error {
	return &Error{Code: code, Enhanced: enhanced, Text: text}
}

// WriteReply writes one reply to w: a single line "250 2.0.0 Ok\r\n", or a
// multi-line reply when len(lines) > 1 ("250-first\r\n250 last\r\n",
// RFC 5321 4.2.1). The enhanced code (RFC 2034) is written on every line;
// pass "" to omit it (greeting, EHLO keywords). Bytes of a text line that
// would break the reply (CR, LF and every other control character but TAB)
// are replaced by spaces, so client-supplied text can never split a reply or
// inject another. WriteReply does not flush: the caller flushes when it has
// no more pipelined input to answer (RFC 2920 3.2).
func WriteReply(w *bufio.Writer, code int, enhanced string, lines ...string) error {
	if len(lines) == 0 {
		lines = []string{""}
	}
	var num [8]byte
	c := strconv.AppendInt(num[:0], int64(code), 10)
	var err error
	for i, line := range lines {
		w.Write(c)
		if i < len(lines)-1 {
			w.WriteByte('-')
		} else if enhanced != "" || line != "" {
			w.WriteByte(' ')
		}
		if enhanced != "" {
			writeText(w, enhanced)
			if line != "" {
				w.WriteByte(' ')
			}
		}
		writeText(w, line)
		// bufio.Writer errors are sticky: the last write reports any earlier one.
		_, err = w.WriteString("\r\n")
	}
	return err
}

// writeText writes s with every control character but TAB replaced by a
// space (RFC 5321 4.2: textstring is HT, SP and printable characters).
func writeText(w *bufio.Writer, s string) {
	for len(s) > 0 {
		i := 0
		for i < len(s) && !isCtl(s[i]) {
			i++
		}
		w.WriteString(s[:i])
		if i == len(s) {
			return
		}
		w.WriteByte(' ')
		s = s[i+1:]
	}
}

// isCtl reports a control character other than TAB.
func isCtl(c byte) bool { return (c < 0x20 && c != '\t') || c == 0x7f }
