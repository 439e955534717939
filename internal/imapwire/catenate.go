package imapwire

import (
	"bufio"
	"io"
	"strings"
)

// MaxCatParts bounds the parts of one CATENATE message.
const MaxCatParts = 1000

// CatPart is one part of a CATENATE message (RFC 4469 5): a URL, or
// TEXT whose data Text streams (a literal, or a literal8 where BINARY is
// offered, as RFC 5550 allows).
type CatPart struct {
	URL  string
	Text *Literal
}

// catenate reads `CATENATE SP "("` (RFC 4469 5, append-data-ext) and
// asks CheckAppend about the message, whose size is not known yet (0).
func (r *Reader) catenate(tag, mailbox string) error {
	kw, err := r.keyword("message literal or CATENATE")
	if err != nil {
		return err
	}
	if kw != "CATENATE" {
		return r.errorf("expected message literal or CATENATE, got %s", kw)
	}
	if err := r.sp(); err != nil {
		return err
	}
	if err := r.expect('('); err != nil {
		return err
	}
	if r.CheckAppend != nil {
		if err := r.CheckAppend(tag, mailbox, 0); err != nil {
			return &ParseError{Tag: tag, Msg: err.Error(), Err: err}
		}
	}
	r.appending, r.cat, r.catFirst, r.parts = true, true, true, 0
	return nil
}

// NextPart returns the next part of the CATENATE message being read,
// after discarding what the caller left unread of the previous one's
// text, or nil after the last part. Errors are as for NextAppend: a
// *ParseError ends the command (its rest skipped), others the connection.
// To give up on the command early (RFC 4469 [BADURL]), call SkipAppend.
func (r *Reader) NextPart() (*CatPart, error) {
	if !r.cat {
		return nil, nil
	}
	if err := r.discardMessage(); err != nil {
		return nil, err
	}
	p, err := r.catPart()
	if err != nil {
		return nil, r.fail(err)
	}
	return p, nil
}

// catPart reads [SP] cat-part, or the ")" ending the list.
func (r *Reader) catPart() (*CatPart, error) {
	if !r.catFirst {
		if ok, err := r.accept(')'); err != nil || ok {
			r.cat = false
			return nil, err
		}
		if err := r.sp(); err != nil {
			return nil, err
		}
	}
	r.catFirst = false
	if r.parts++; r.parts > MaxCatParts {
		return nil, r.errorf("too many CATENATE parts")
	}
	// The parts before are the caller's now: only this one counts
	// against MaxCommand.
	r.cmdLen = 0
	kind, err := r.keyword("TEXT or URL")
	if err != nil {
		return nil, err
	}
	if kind != "URL" && kind != "TEXT" {
		return nil, r.errorf("expected TEXT or URL, got %s", kind)
	}
	if err := r.sp(); err != nil {
		return nil, err
	}
	if kind == "URL" {
		u, err := r.astring()
		if err != nil {
			return nil, err
		}
		if u == "" {
			return nil, r.errorf("empty URL")
		}
		return &CatPart{URL: u}, nil
	}
	if c, err := r.peek(); err != nil {
		return nil, err
	} else if c != '{' && c != '~' {
		return nil, r.expected("literal")
	}
	n, sync, binary, err := r.literalHeader(true)
	if err != nil {
		return nil, err
	}
	if n > r.maxLiteral {
		return nil, r.refuseLiteral(n, sync, &ParseError{Tag: r.tag, Code: "TOOBIG", Msg: "message too big"})
	}
	if r.CheckText != nil {
		if err := r.CheckText(r.tag, n); err != nil {
			return nil, r.refuseLiteral(n, sync, &ParseError{Tag: r.tag, Msg: err.Error(), Err: err})
		}
	}
	if sync {
		if err := r.continuation(); err != nil {
			return nil, err
		}
	}
	r.msg = &Literal{Size: n, Binary: binary, r: r, left: n}
	return &CatPart{Text: r.msg}, nil
}

// discardMessage reads what is left of the current literal.
func (r *Reader) discardMessage() error {
	m := r.msg
	if m == nil {
		return nil
	}
	r.msg = nil
	if m.left > 0 {
		if _, err := io.Copy(io.Discard, m); err != nil {
			return err
		}
	}
	r.lineLen = 0
	return nil
}

// endMessage finishes the current APPEND message: the rest of its
// literal, or the CATENATE parts the caller did not read.
func (r *Reader) endMessage() error {
	for r.cat {
		if _, err := r.NextPart(); err != nil {
			return err
		}
	}
	return r.discardMessage()
}

// SkipAppend abandons the APPEND being read, after the server refused
// it: the rest of the command is skipped up to its end or to a
// synchronizing literal whose data the client will not send once it sees
// the tagged reply (RFC 4469 5, RFC 3502 6.3.11). An error means the
// input cannot be resynchronised: reply, then close the connection.
func (r *Reader) SkipAppend() error {
	if !r.appending {
		return nil
	}
	if m := r.msg; m != nil {
		r.skip = m.left
		r.msg = nil
	}
	r.appending, r.cat = false, false
	return r.drain()
}

// ParseSection parses a section-spec as inside BODY[...] (RFC 9051 9),
// e.g. "1.2.MIME" or "HEADER.FIELDS (From To)": the ;SECTION= of an IMAP
// URL (RFC 5092 5).
func ParseSection(s string) (Section, error) {
	r := NewReader(bufio.NewReader(strings.NewReader("["+s+"]")), nil, len(s)+8, 0)
	sec, err := r.section(false)
	if err != nil {
		return Section{}, err
	}
	if _, err := r.br.Peek(1); err != io.EOF {
		return Section{}, r.errorf("data after the section")
	}
	return sec, nil
}
