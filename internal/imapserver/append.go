package imapserver

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"

	"mailwarden/internal/acl"
	"mailwarden/internal/imapwire"
	"mailwarden/internal/store"
)

// memSpool is the largest APPEND message kept in memory; larger ones go
// to a temporary file.
const memSpool = 1 << 20

// appendRefusal is why CheckAppend refused an APPEND before its message
// was sent: answered NO [code] text, or BAD when bad is set.
type appendRefusal struct {
	code, text string
	bad        bool
}

func (e *appendRefusal) Error() string { return e.text }

// checkAppend runs when the size of an APPEND message is known, before the
// client is asked for it (RFC 7888 4, RFC 7889), so a message that cannot
// be stored is refused without being transferred.
func (s *session) checkAppend(_, mailbox string, size int64) error {
	if s.state == stateNotAuth {
		return &appendRefusal{bad: true, text: "Command not allowed before authentication."}
	}
	if size > s.appendLimit() {
		return &appendRefusal{code: "TOOBIG", text: "Message is larger than APPENDLIMIT."}
	}
	// A MULTIAPPEND is held until its last message: bounded in count and
	// in bytes.
	s.appendN++
	s.appendBytes += size
	if s.appendN > maxMultiAppend {
		return &appendRefusal{code: "LIMIT", text: "Too many messages in one APPEND."}
	}
	if s.appendBytes > multiAppendBytes*s.appendLimit() {
		return &appendRefusal{code: "TOOBIG", text: "Messages of one APPEND are too large together."}
	}
	name, ok := s.storeName(mailbox)
	if !ok {
		return &appendRefusal{code: "CANNOT", text: "Invalid mailbox name."}
	}
	p, err := s.appendTarget(name)
	if err == nil {
		err = s.srv.o.Store.FolderExists(s.ctx, p.owner, p.folder)
	}
	if err != nil {
		var ar *appendRefusal
		if errors.As(err, &ar) {
			return ar
		}
		if errors.Is(err, store.ErrNoFolder) && p.kind == nsPersonal {
			return &appendRefusal{code: "TRYCREATE", text: "Mailbox doesn't exist."}
		}
		if errors.Is(err, store.ErrNoFolder) {
			return &appendRefusal{code: "NONEXISTENT", text: "Mailbox doesn't exist."}
		}
		if errors.Is(err, store.ErrBadName) {
			return &appendRefusal{code: "CANNOT", text: "Invalid mailbox name."}
		}
		s.logError("APPEND", err)
		return &appendRefusal{code: "UNAVAILABLE", text: "Internal error occurred, try again later."}
	}
	if err := s.srv.o.Store.CheckQuota(s.ctx, p.owner.Username, p.quota, size); err != nil {
		if errors.Is(err, store.ErrOverQuota) {
			return &appendRefusal{code: "OVERQUOTA", text: "Quota exceeded (mailbox for user is full)."}
		}
		s.logError("APPEND", err)
		return &appendRefusal{code: "UNAVAILABLE", text: "Internal error occurred, try again later."}
	}
	return nil
}

// appendTarget resolves the mailbox of an APPEND: RFC 4314 4 asks for
// the "i" right; a refusal is an *appendRefusal.
func (s *session) appendTarget(name string) (place, error) {
	p, err := s.locate(name, true)
	if err != nil {
		return p, err
	}
	if !p.rights.Has(acl.Insert) {
		r := denied(p)
		return p, &appendRefusal{code: r.code, text: r.text}
	}
	return p, nil
}

// Limits of one MULTIAPPEND (RFC 3502): messages, and their total size
// as a multiple of APPENDLIMIT.
const (
	maxMultiAppend   = 1000
	multiAppendBytes = 4
)

// cmdAppend serves APPEND (RFC 9051 6.3.12) with APPENDUID (RFC 4315),
// MULTIAPPEND (RFC 3502) and CATENATE (RFC 4469, catenate.go): every
// message is read first, then all are stored or none.
func (s *session) cmdAppend(c *imapwire.Command) result {
	a := c.Args.(*imapwire.AppendArgs)
	var items []store.AppendItem
	var bodies []*spooled
	defer func() {
		for _, b := range bodies {
			b.remove()
		}
	}()
	memLeft := int64(memSpool)
	for m := &a.AppendMessage; m != nil; {
		if m.Catenate {
			body, r := s.catenate(&memLeft)
			if body == nil {
				return r
			}
			bodies = append(bodies, body)
			items = append(items, store.AppendItem{Flags: m.Flags, Date: m.Date, Body: body})
			var err error
			if m, err = s.rd.NextAppend(c.Tag, a.Mailbox); err != nil {
				return s.appendParseError(err)
			}
			continue
		}
		body, err := spool(m.Message, &memLeft)
		if errors.Is(err, errSpool) {
			s.logError("APPEND", err)
			return fail("UNAVAILABLE", "Internal error occurred, try again later.")
		}
		if err != nil {
			s.quit = true
			s.reason = "Connection closed during APPEND"
			return result{quiet: true}
		}
		bodies = append(bodies, body)
		items = append(items, store.AppendItem{Flags: m.Flags, Date: m.Date, Body: body})
		if m, err = s.rd.NextAppend(c.Tag, a.Mailbox); err != nil {
			return s.appendParseError(err)
		}
	}
	if err := s.rd.EndAppend(); err != nil {
		return s.appendParseError(err)
	}
	name, ok := s.storeName(a.Mailbox)
	if !ok {
		return badName()
	}
	p, err := s.appendTarget(name)
	var ar *appendRefusal
	if errors.As(err, &ar) {
		return fail(ar.code, ar.text)
	}
	if err != nil {
		return s.storeFail("APPEND", err, false)
	}
	if p.rights != acl.All {
		// RFC 4314 4: flags the user may not set are dropped.
		m := &mailbox{at: p}
		for i := range items {
			items[i].Flags = slices.DeleteFunc(slices.Clone(items[i].Flags), func(f string) bool { return !m.mayStore(f) })
		}
	}
	uids, validity, err := s.srv.o.Store.AppendMany(s.ctx, p.owner, p.folder, items, p.quota)
	if err != nil {
		return s.storeFail("APPEND", err, p.kind == nsPersonal)
	}
	set := make([]uint32, len(uids))
	for i, u := range uids {
		set[i] = uint32(u)
	}
	return doneCode("APPENDUID "+strconv.FormatInt(validity, 10)+" "+imapwire.NewSeqSet(set...).String(), "Append completed.")
}

// appendParseError answers an APPEND whose further message was refused or
// malformed: NO for a refusal by checkAppend, BAD otherwise; a broken
// connection ends the session.
func (s *session) appendParseError(err error) result {
	var pe *imapwire.ParseError
	if !errors.As(err, &pe) {
		s.quit = true
		s.reason = "Connection closed"
		return result{quiet: true}
	}
	if pe.Close {
		s.quit = true
		s.reason = "Protocol error: " + pe.Msg
		s.bye("Can't resynchronize with the client, closing the connection.")
		return result{quiet: true}
	}
	var ar *appendRefusal
	if errors.As(pe.Err, &ar) && !ar.bad {
		return fail(ar.code, ar.text)
	}
	if pe.Code == "TOOBIG" {
		return fail("TOOBIG", pe.Msg)
	}
	return bad(pe.Msg)
}

// spooled is an APPEND message read in full, so that nothing is stored
// before the command turned out complete.
type spooled struct {
	mem  []byte
	f    *os.File
	size int64
}

func (b *spooled) Reader() io.Reader {
	if b.f != nil {
		return io.NewSectionReader(b.f, 0, b.size)
	}
	return bytes.NewReader(b.mem)
}

func (b *spooled) Size() int64 { return b.size }

func (b *spooled) remove() {
	if b.f != nil {
		b.f.Close()
		os.Remove(b.f.Name())
	}
}

var errSpool = errors.New("cannot spool APPEND message")

// spool reads an APPEND message into memory while memLeft allows (the
// messages of one command share it), else into a temporary file.
func spool(lit *imapwire.Literal, memLeft *int64) (*spooled, error) {
	if lit.Size <= *memLeft {
		*memLeft -= lit.Size
		b := make([]byte, lit.Size)
		if _, err := io.ReadFull(lit, b); err != nil {
			return nil, err
		}
		return &spooled{mem: b, size: lit.Size}, nil
	}
	f, err := os.CreateTemp("", "mailwarden-append-*")
	if err != nil {
		if _, derr := io.Copy(io.Discard, lit); derr != nil {
			return nil, derr
		}
		return nil, fmt.Errorf("%w: %v", errSpool, err)
	}
	sp := &spooled{f: f, size: lit.Size}
	if _, err := io.CopyN(f, lit, lit.Size); err != nil {
		sp.remove()
		return nil, err
	}
	return sp, nil
}
