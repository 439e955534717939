package imapwire

import (
	"fmt"
	"io"
	"strings"
)

// Character classes of RFC 9051 section 9.

func isAtomChar(c byte) bool {
	if c <= ' ' || c >= 0x7f {
		return false
	}
	switch c {
	case '(', ')', '{', '%', '*', '"', '\\', ']':
		return false
	}
	return true
}

func isAStringChar(c byte) bool { return isAtomChar(c) || c == ']' }
func isTagChar(c byte) bool     { return isAStringChar(c) && c != '+' }
func isListChar(c byte) bool    { return isAStringChar(c) || c == '%' || c == '*' }
func isDigit(c byte) bool       { return c >= '0' && c <= '9' }
func isSeqChar(c byte) bool     { return isDigit(c) || c == ':' || c == ',' || c == '*' || c == '$' }
func isWordChar(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || isDigit(c) || c == '.' || c == '-'
}

func (r *Reader) errorf(format string, args ...any) error {
	return &ParseError{Tag: r.tag, Msg: fmt.Sprintf(format, args...)}
}

func (r *Reader) fatalf(format string, args ...any) error {
	return &ParseError{Tag: r.tag, Msg: fmt.Sprintf(format, args...), Close: true}
}

func (r *Reader) ioErr(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// peek returns the next byte without consuming it.
func (r *Reader) peek() (byte, error) {
	b, err := r.br.Peek(1)
	if err != nil {
		return 0, r.ioErr(err)
	}
	return b[0], nil
}

// next consumes one byte of the current line, enforcing the limits.
func (r *Reader) next() (byte, error) {
	if r.lineLen >= r.maxLine {
		return 0, r.fatalf("line too long")
	}
	if r.cmdLen >= r.MaxCommand {
		return 0, r.fatalf("command too long")
	}
	c, err := r.br.ReadByte()
	if err != nil {
		return 0, r.ioErr(err)
	}
	r.lineLen++
	r.cmdLen++
	return c, nil
}

// readWhile consumes the longest run of bytes satisfying ok.
func (r *Reader) readWhile(ok func(byte) bool) (string, error) {
	var b []byte
	for {
		c, err := r.peek()
		if err != nil {
			return "", err
		}
		if !ok(c) {
			return string(b), nil
		}
		if _, err := r.next(); err != nil {
			return "", err
		}
		b = append(b, c)
	}
}

// accept consumes c if it is the next byte.
func (r *Reader) accept(c byte) (bool, error) {
	b, err := r.peek()
	if err != nil || b != c {
		return false, err
	}
	_, err = r.next()
	return err == nil, err
}

func (r *Reader) expect(c byte) error {
	b, err := r.peek()
	if err != nil {
		return err
	}
	if b != c {
		if b == '\r' || b == '\n' {
			return r.errorf("missing argument, expected %q", c)
		}
		return r.errorf("expected %q, got %q", c, b)
	}
	_, err = r.next()
	return err
}

func (r *Reader) sp() error {
	b, err := r.peek()
	if err != nil {
		return err
	}
	if b == '\r' || b == '\n' || b == ')' {
		return r.errorf("missing argument")
	}
	return r.expect(' ')
}

// crlf consumes the end of the command line (a bare LF is accepted too).
func (r *Reader) crlf() error {
	b, err := r.peek()
	if err != nil {
		return err
	}
	if b == '\r' {
		if _, err := r.next(); err != nil {
			return err
		}
		if b, err = r.peek(); err != nil {
			return err
		}
		if b != '\n' {
			return r.errorf("CR not followed by LF")
		}
	}
	if b != '\n' {
		if b == ' ' {
			return r.errorf("too many arguments")
		}
		return r.errorf("unexpected %q", b)
	}
	if _, err := r.next(); err != nil {
		return err
	}
	r.eol = true
	return nil
}

func (r *Reader) atom() (string, error) {
	s, err := r.readWhile(isAtomChar)
	if err == nil && s == "" {
		err = r.expected("atom")
	}
	return s, err
}

// keyword reads an atom and returns it in upper case.
func (r *Reader) keyword(what string) (string, error) {
	s, err := r.readWhile(isAtomChar)
	if err == nil && s == "" {
		err = r.expected(what)
	}
	return strings.ToUpper(s), err
}

func (r *Reader) expected(what string) error {
	b, err := r.peek()
	if err != nil {
		return err
	}
	if b == '\r' || b == '\n' {
		return r.errorf("missing %s", what)
	}
	return r.errorf("expected %s, got %q", what, b)
}

// astring reads an atom (with "]" allowed), a quoted string or a literal.
func (r *Reader) astring() (string, error) {
	c, err := r.peek()
	if err != nil {
		return "", err
	}
	if c == '"' || c == '{' {
		return r.str()
	}
	s, err := r.readWhile(isAStringChar)
	if err == nil && s == "" {
		err = r.expected("string")
	}
	return s, err
}

// nstring reads a string or NIL; ok is false for NIL.
func (r *Reader) nstring() (s string, ok bool, err error) {
	c, err := r.peek()
	if err != nil {
		return "", false, err
	}
	if c == '"' || c == '{' {
		s, err = r.str()
		return s, err == nil, err
	}
	a, err := r.keyword("string or NIL")
	if err == nil && a != "NIL" {
		err = r.errorf("expected string or NIL")
	}
	return "", false, err
}

// str reads a quoted string or a literal.
func (r *Reader) str() (string, error) {
	c, err := r.peek()
	if err != nil {
		return "", err
	}
	switch c {
	case '"':
		return r.quoted()
	case '{':
		return r.literal()
	}
	return "", r.expected("string")
}

func (r *Reader) quoted() (string, error) {
	if err := r.expect('"'); err != nil {
		return "", err
	}
	var b []byte
	for {
		c, err := r.peek()
		if err != nil {
			return "", err
		}
		switch c {
		case '\r', '\n', 0:
			return "", r.errorf("unterminated quoted string")
		}
		if _, err := r.next(); err != nil {
			return "", err
		}
		switch c {
		case '"':
			return string(b), nil
		case '\\':
			if c, err = r.peek(); err != nil {
				return "", err
			}
			if c != '"' && c != '\\' {
				return "", r.errorf("invalid escape in quoted string")
			}
			if _, err := r.next(); err != nil {
				return "", err
			}
		}
		b = append(b, c)
	}
}
