package imapwire

import (
	"time"
)

// SelectArgs: SELECT/EXAMINE mailbox [(CONDSTORE) | (QRESYNC (...))].
type SelectArgs struct {
	Mailbox   string
	ReadOnly  bool // EXAMINE
	CondStore bool
	QResync   *QResyncArgs
}

// QResyncArgs is the QRESYNC select parameter (RFC 7162 3.2.5). Absent
// optional sets are empty.
type QResyncArgs struct {
	UIDValidity  uint32
	ModSeq       uint64
	KnownUIDs    SeqSet
	KnownSeqNums SeqSet // seq-match-data: message sequence numbers...
	KnownSeqUIDs SeqSet // ...and their UIDs
}

func parseSelect(r *Reader, c *Command) (any, error) {
	if err := r.sp(); err != nil {
		return nil, err
	}
	m, err := r.mailbox()
	if err != nil {
		return nil, err
	}
	a := &SelectArgs{Mailbox: m, ReadOnly: c.Name == "EXAMINE"}
	if ok, err := r.accept(' '); err != nil || !ok {
		return a, err
	}
	err = r.paramList(func(name string) error {
		switch name {
		case "CONDSTORE":
			a.CondStore = true
			return nil
		case "QRESYNC":
			if err := r.sp(); err != nil {
				return err
			}
			q, err := r.qresync()
			a.QResync = q
			return err
		}
		return r.errorf("unknown select parameter %s", name)
	})
	if err != nil {
		return nil, err
	}
	return a, nil
}

func (r *Reader) qresync() (*QResyncArgs, error) {
	q := &QResyncArgs{}
	var err error
	if err = r.expect('('); err != nil {
		return nil, err
	}
	if q.UIDValidity, err = r.nzNumber("uidvalidity"); err != nil {
		return nil, err
	}
	if err = r.sp(); err != nil {
		return nil, err
	}
	if q.ModSeq, err = r.modSeq(false); err != nil {
		return nil, err
	}
	noStar := func(s SeqSet) error {
		if s.Dynamic() || s.Saved {
			return r.errorf("QRESYNC sets must not contain * or $")
		}
		return nil
	}
	if ok, err := r.accept(' '); err != nil {
		return nil, err
	} else if ok {
		if c, err := r.peek(); err != nil {
			return nil, err
		} else if c != '(' {
			if q.KnownUIDs, err = r.seqSet(); err != nil {
				return nil, err
			}
			if err := noStar(q.KnownUIDs); err != nil {
				return nil, err
			}
			if ok, err = r.accept(' '); err != nil {
				return nil, err
			}
		}
		if ok {
			if err := r.expect('('); err != nil {
				return nil, err
			}
			if q.KnownSeqNums, err = r.seqSet(); err != nil {
				return nil, err
			}
			if err := r.sp(); err != nil {
				return nil, err
			}
			if q.KnownSeqUIDs, err = r.seqSet(); err != nil {
				return nil, err
			}
			if err := noStar(q.KnownSeqNums); err != nil {
				return nil, err
			}
			if err := noStar(q.KnownSeqUIDs); err != nil {
				return nil, err
			}
			if err := r.expect(')'); err != nil {
				return nil, err
			}
		}
	}
	return q, r.expect(')')
}

// AppendArgs: APPEND mailbox [flags] [date-time] literal, the first (or
// only) message of the command. Message streams the data; then call
// Reader.NextAppend for the further messages of a MULTIAPPEND (RFC 3502)
// and Reader.EndAppend.
type AppendArgs struct {
	Mailbox string
	AppendMessage
}

// AppendMessage is one message of an APPEND: its data is Message, or,
// when Catenate is set, the parts Reader.NextPart returns (RFC 4469).
type AppendMessage struct {
	Flags    []string  // nil when absent
	Date     time.Time // zero when absent
	Message  *Literal  // nil with Catenate
	Catenate bool
}

func parseAppend(r *Reader, c *Command) (any, error) {
	a := &AppendArgs{}
	var err error
	if err = r.sp(); err != nil {
		return nil, err
	}
	if a.Mailbox, err = r.mailbox(); err != nil {
		return nil, err
	}
	if err = r.sp(); err != nil {
		return nil, err
	}
	m, err := r.appendMessage(c.Tag, a.Mailbox)
	if err != nil {
		return nil, err
	}
	a.AppendMessage = *m
	return a, nil
}

// appendMessage reads "[flags SP] [date-time SP] literal" and the literal's
// header, asking for its data when it is synchronizing.
func (r *Reader) appendMessage(tag, mailbox string) (*AppendMessage, error) {
	a := &AppendMessage{}
	b, err := r.peek()
	if err != nil {
		return nil, err
	}
	if b == '(' {
		if a.Flags, err = r.flagList(); err != nil {
			return nil, err
		}
		if err = r.sp(); err != nil {
			return nil, err
		}
		if b, err = r.peek(); err != nil {
			return nil, err
		}
	}
	if b == '"' {
		if a.Date, err = r.dateTime(); err != nil {
			return nil, err
		}
		if err = r.sp(); err != nil {
			return nil, err
		}
		if b, err = r.peek(); err != nil {
			return nil, err
		}
	}
	if b == 'C' || b == 'c' {
		if err := r.catenate(tag, mailbox); err != nil {
			return nil, err
		}
		a.Catenate = true
		return a, nil
	}
	if b != '{' && b != '~' {
		return nil, r.expected("message literal")
	}
	n, sync, binary, err := r.literalHeader(true)
	if err != nil {
		return nil, err
	}
	if n > r.maxLiteral {
		return nil, r.refuseLiteral(n, sync, &ParseError{Tag: tag, Code: "TOOBIG", Msg: "message too big"})
	}
	if r.CheckAppend != nil {
		if err := r.CheckAppend(tag, mailbox, n); err != nil {
			return nil, r.refuseLiteral(n, sync, &ParseError{Tag: tag, Msg: err.Error(), Err: err})
		}
	}
	if sync {
		if err := r.continuation(); err != nil {
			return nil, err
		}
	}
	a.Message = &Literal{Size: n, Binary: binary, r: r, left: n}
	r.msg, r.appending = a.Message, true
	return a, nil
}
