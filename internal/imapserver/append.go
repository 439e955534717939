package imapserver

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"

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
	name, ok := s.storeName(mailbox)
	if !ok {
		return &appendRefusal{code: "CANNOT", text: "Invalid mailbox name."}
	}
	if _, err := s.srv.o.Store.Folder(s.ctx, s.acct, name); err != nil {
		if errors.Is(err, store.ErrNoFolder) {
			return &appendRefusal{code: "TRYCREATE", text: "Mailbox doesn't exist."}
		}
		if errors.Is(err, store.ErrBadName) {
			return &appendRefusal{code: "CANNOT", text: "Invalid mailbox name."}
		}
		s.logError("APPEND", err)
		return &appendRefusal{code: "UNAVAILABLE", text: "Internal error occurred, try again later."}
	}
	if err := s.srv.o.Store.CheckQuota(s.ctx, s.mb.Username, s.mb.Quota, size); err != nil {
		if errors.Is(err, store.ErrOverQuota) {
			return &appendRefusal{code: "OVERQUOTA", text: "Quota exceeded (mailbox for user is full)."}
		}
		s.logError("APPEND", err)
		return &appendRefusal{code: "UNAVAILABLE", text: "Internal error occurred, try again later."}
	}
	return nil
}

// cmdAppend serves APPEND (RFC 9051 6.3.12) with APPENDUID (RFC 4315).
func (s *session) cmdAppend(c *imapwire.Command) result {
	a := c.Args.(*imapwire.AppendArgs)
	body, err := spool(a.Message)
	if errors.Is(err, errSpool) {
		s.logError("APPEND", err)
		return fail("UNAVAILABLE", "Internal error occurred, try again later.")
	}
	if err != nil {
		s.quit = true
		s.reason = "Connection closed during APPEND"
		return result{quiet: true}
	}
	defer body.remove()
	if err := s.rd.EndAppend(); err != nil {
		var pe *imapwire.ParseError
		if !errors.As(err, &pe) {
			s.quit = true
			s.reason = "Connection closed"
			return result{quiet: true}
		}
		return bad(pe.Msg)
	}
	name, ok := s.storeName(a.Mailbox)
	if !ok {
		return badName()
	}
	uid, validity, err := s.srv.o.Store.Append(s.ctx, s.acct, name, a.Flags, a.Date, body, s.mb.Quota)
	if err != nil {
		return s.storeFail("APPEND", err, true)
	}
	return doneCode("APPENDUID "+strconv.FormatInt(validity, 10)+" "+strconv.FormatInt(uid, 10), "Append completed.")
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

func spool(lit *imapwire.Literal) (*spooled, error) {
	if lit.Size <= memSpool {
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
