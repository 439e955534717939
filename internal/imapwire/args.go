package imapwire

import (
	"bytes"
	"io"
	"math"
	"strings"
	"time"
)

// literalHeader reads "{n}", "{n+}" or (when binary is allowed) "~{n}" and
// the line end that must follow it.
func (r *Reader) literalHeader(allowBinary bool) (n int64, sync, binary bool, err error) {
	if binary, err = r.accept('~'); err != nil {
		return 0, false, false, err
	}
	if binary && !allowBinary {
		return 0, false, false, r.errorf("literal8 not allowed here")
	}
	if err = r.expect('{'); err != nil {
		return 0, false, false, err
	}
	u, err := r.number64(math.MaxInt64, "literal size")
	if err != nil {
		return 0, false, false, err
	}
	plus, err := r.accept('+')
	if err != nil {
		return 0, false, false, err
	}
	if err = r.expect('}'); err != nil {
		return 0, false, false, err
	}
	if _, err = r.accept('\r'); err != nil {
		return 0, false, false, err
	}
	if c, err := r.peek(); err != nil {
		return 0, false, false, err
	} else if c != '\n' {
		return 0, false, false, r.errorf("literal must end the line")
	}
	if _, err = r.next(); err != nil {
		return 0, false, false, err
	}
	r.lineLen = 0
	return int64(u), !plus, binary, nil
}

// refuseLiteral builds the error for a literal the reader will not take and
// prepares the resynchronisation: a synchronizing literal is never sent, a
// non-synchronizing one is skipped if it is small enough (RFC 7888 4).
func (r *Reader) refuseLiteral(n int64, sync bool, e *ParseError) error {
	if sync {
		r.eol = true
	} else if n <= r.maxLiteral {
		r.skip = n
	} else {
		e.Close = true
	}
	return e
}

func (r *Reader) literal() (string, error) {
	n, sync, _, err := r.literalHeader(false)
	if err != nil {
		return "", err
	}
	if n > r.MaxArgLiteral || int64(r.cmdLen)+n > int64(r.MaxCommand) {
		return "", r.refuseLiteral(n, sync, &ParseError{Tag: r.tag, Code: "TOOBIG", Msg: "literal too big"})
	}
	if sync {
		if err := r.continuation(); err != nil {
			return "", err
		}
	}
	buf := make([]byte, n)
	if _, err := io.ReadFull(r.br, buf); err != nil {
		return "", r.ioErr(err)
	}
	r.cmdLen += int(n)
	if bytes.IndexByte(buf, 0) >= 0 {
		return "", r.errorf("NUL in literal")
	}
	return string(buf), nil
}

// number64 reads 1*DIGIT with a value of at most max.
func (r *Reader) number64(max uint64, what string) (uint64, error) {
	c, err := r.peek()
	if err != nil {
		return 0, err
	}
	if !isDigit(c) {
		return 0, r.expected(what)
	}
	var n uint64
	for isDigit(c) {
		d := uint64(c - '0')
		if n > (max-d)/10 {
			return 0, r.errorf("%s out of range", what)
		}
		n = n*10 + d
		if _, err := r.next(); err != nil {
			return 0, err
		}
		if c, err = r.peek(); err != nil {
			return 0, err
		}
	}
	return n, nil
}

func (r *Reader) number(what string) (uint32, error) {
	n, err := r.number64(math.MaxUint32, what)
	return uint32(n), err
}

func (r *Reader) nzNumber(what string) (uint32, error) {
	n, err := r.number(what)
	if err == nil && n == 0 {
		err = r.errorf("%s must not be 0", what)
	}
	return n, err
}

// modSeq reads a mod-sequence-value (RFC 7162), or mod-sequence-valzer when
// zero is allowed.
func (r *Reader) modSeq(zero bool) (uint64, error) {
	n, err := r.number64(math.MaxInt64, "mod-sequence")
	if err == nil && n == 0 && !zero {
		err = r.errorf("mod-sequence must not be 0")
	}
	return n, err
}

// mailbox reads a mailbox name; INBOX in any case becomes "INBOX".
func (r *Reader) mailbox() (string, error) {
	s, err := r.astring()
	if err == nil && strings.EqualFold(s, "INBOX") {
		s = "INBOX"
	}
	return s, err
}

var systemFlags = map[string]string{
	`\answered`: `\Answered`, `\flagged`: `\Flagged`, `\deleted`: `\Deleted`,
	`\seen`: `\Seen`, `\draft`: `\Draft`, `\recent`: `\Recent`,
}

// flag reads a system flag (canonical case), a flag extension or a keyword.
func (r *Reader) flag() (string, error) {
	bs, err := r.accept('\\')
	if err != nil {
		return "", err
	}
	a, err := r.atom()
	if err != nil || !bs {
		return a, err
	}
	f := `\` + a
	if c, ok := systemFlags[strings.ToLower(f)]; ok {
		return c, nil
	}
	return f, nil
}

// items reads the rest of a parenthesized list, "(" already consumed:
// elem *(SP elem) ")", calling each for every element. With empty set, ")"
// alone is a list of none.
func (r *Reader) items(empty bool, each func() error) error {
	if empty {
		if ok, err := r.accept(')'); ok || err != nil {
			return err
		}
	}
	for {
		if err := each(); err != nil {
			return err
		}
		if ok, err := r.accept(')'); ok || err != nil {
			return err
		}
		if err := r.sp(); err != nil {
			return err
		}
	}
}

// flagList reads "(" [flag *(SP flag)] ")".
func (r *Reader) flagList() ([]string, error) {
	if err := r.expect('('); err != nil {
		return nil, err
	}
	flags := []string{}
	err := r.items(true, func() error {
		f, err := r.flag()
		flags = append(flags, f)
		return err
	})
	if err != nil {
		return nil, err
	}
	return flags, nil
}

// seqSet reads a sequence-set, or "$" (RFC 5182).
func (r *Reader) seqSet() (SeqSet, error) {
	s, err := r.readWhile(isSeqChar)
	if err != nil {
		return SeqSet{}, err
	}
	if s == "" {
		return SeqSet{}, r.expected("sequence set")
	}
	set, err := ParseSeqSet(s)
	if err != nil {
		return SeqSet{}, r.errorf("%v", err)
	}
	return set, nil
}

// date reads a search date, bare or quoted.
func (r *Reader) date() (time.Time, error) {
	c, err := r.peek()
	if err != nil {
		return time.Time{}, err
	}
	var s string
	if c == '"' {
		s, err = r.quoted()
	} else {
		s, err = r.readWhile(isWordChar)
	}
	if err != nil {
		return time.Time{}, err
	}
	t, err := ParseDate(s)
	if err != nil {
		return time.Time{}, r.errorf("%v", err)
	}
	return t, nil
}

// dateTime reads a quoted date-time.
func (r *Reader) dateTime() (time.Time, error) {
	s, err := r.quoted()
	if err != nil {
		return time.Time{}, err
	}
	t, err := ParseDateTime(s)
	if err != nil {
		return time.Time{}, r.errorf("%v", err)
	}
	return t, nil
}
