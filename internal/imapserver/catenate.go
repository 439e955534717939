package imapserver

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"mailwarden/internal/acl"
	"mailwarden/internal/imapmsg"
	"mailwarden/internal/imapurl"
	"mailwarden/internal/imapwire"
	"mailwarden/internal/store"
)

// catenate builds one CATENATE message of an APPEND (RFC 4469 3) from its
// parts in order: TEXT data as sent, URL parts as FETCH BODY.PEEK of the
// message or section they name would give it. The message goes to a
// spool that never holds more than APPENDLIMIT: a TEXT part is refused
// before it is sent (CheckText) and a URL before it is copied. On
// failure body is nil and the rest of the command has been skipped.
func (s *session) catenate(memLeft *int64) (body *spooled, res result) {
	w := &catSpool{limit: s.appendLimit(), memLeft: memLeft}
	s.rd.CheckText = func(_ string, size int64) error { return s.catReserve(w, size) }
	defer func() {
		s.rd.CheckText = nil
		if body == nil {
			w.remove()
		}
	}()
	for {
		p, err := s.rd.NextPart()
		if err != nil {
			return nil, s.appendParseError(err)
		}
		if p == nil {
			return w.spooled(), result{}
		}
		if p.Text != nil {
			if _, err := io.Copy(w, p.Text); err != nil {
				return nil, s.catAbort(err)
			}
			continue
		}
		r, ok := s.catURL(p.URL, w)
		if !ok {
			if err := s.rd.SkipAppend(); err != nil {
				s.quit, s.reason = true, "Protocol error: "+err.Error()
				s.bye("Can't resynchronize with the client, closing the connection.")
			}
			return nil, r
		}
	}
}

// catReserve accounts for size more bytes of the message being built:
// [TOOBIG] beyond APPENDLIMIT (RFC 4469 3, RFC 7889), [LIMIT] beyond
// what one MULTIAPPEND may carry.
func (s *session) catReserve(w *catSpool, size int64) error {
	if w.planned+size > w.limit {
		return &appendRefusal{code: "TOOBIG", text: "Message is larger than APPENDLIMIT."}
	}
	s.appendBytes += size
	if s.appendBytes > multiAppendBytes*s.appendLimit() {
		return &appendRefusal{code: "TOOBIG", text: "Messages of one APPEND are too large together."}
	}
	w.planned += size
	return nil
}

// catAbort answers a CATENATE whose TEXT data could not be taken: a
// broken connection ends the session; a spool failure is the server's.
func (s *session) catAbort(err error) result {
	if errors.Is(err, errSpool) {
		s.logError("APPEND", err)
		if serr := s.rd.SkipAppend(); serr != nil {
			s.quit, s.reason = true, "Protocol error: "+serr.Error()
		}
		return fail("UNAVAILABLE", "Internal error occurred, try again later.")
	}
	s.quit = true
	s.reason = "Connection closed during APPEND"
	return result{quiet: true}
}

// catURL appends the data a URL part names, or answers why not:
// NO [BADURL url] for a URL that does not resolve to data the user may
// read (RFC 4469 3, 5), [TOOBIG] when it does not fit.
func (s *session) catURL(raw string, w *catSpool) (result, bool) {
	badURL := fail("BADURL "+imapurl.RespText(raw), "CATENATE URL does not resolve to a message or part you may read.")
	src, err := s.resolveURL(raw)
	if err != nil {
		if !errors.Is(err, errBadURL) {
			s.logError("APPEND", err)
			return fail("UNAVAILABLE", "Internal error occurred, try again later."), false
		}
		return badURL, false
	}
	defer src.f.Close()
	var data io.Reader
	var size int64
	if src.sec == nil && src.u.Partial == nil {
		data, size = src.f, src.size // the whole message, streamed
	} else {
		// A section: the message is parsed, as FETCH BODY[section]
		// does; it is in the store, so at most as big as an APPEND.
		raw := make([]byte, src.size)
		if _, err := io.ReadFull(src.f, raw); err != nil {
			s.logError("APPEND", err)
			return fail("UNAVAILABLE", "Internal error occurred, try again later."), false
		}
		b := raw
		if src.sec != nil {
			var ok bool
			if b, ok = imapmsg.Parse(raw).Section(src.sec.Part, src.sec.Specifier, src.sec.Fields); !ok {
				return badURL, false
			}
		}
		if p := src.u.Partial; p != nil {
			part := &imapwire.Partial{Offset: uint64(p.Offset), Count: uint64(p.Length)}
			if p.Length == 0 {
				part.Count = uint64(len(b))
			}
			b = clipBytes(b, part)
		}
		data, size = bytes.NewReader(b), int64(len(b))
	}
	if err := s.catReserve(w, size); err != nil {
		var ar *appendRefusal
		errors.As(err, &ar)
		return fail(ar.code, ar.text), false
	}
	if _, err := io.CopyN(w, data, size); err != nil {
		s.logError("APPEND", fmt.Errorf("CATENATE %s: %w", raw, err))
		return fail("UNAVAILABLE", "Internal error occurred, try again later."), false
	}
	return result{}, true
}

var errBadURL = errors.New("bad URL")

// urlSource is the message a URL names, opened.
type urlSource struct {
	u    *imapurl.URL
	sec  *imapwire.Section // nil: the whole message
	f    *os.File
	size int64
}

// resolveURL finds the message an IMAP URL of a CATENATE names (RFC 5092
// 5, RFC 4469 3): on this server, of this user, in a mailbox the user
// may read ("r", RFC 4314 4), with the UIDVALIDITY it gives. Relative
// URLs are resolved against the selected mailbox. Errors that are no
// fault of the URL's do not wrap errBadURL.
func (s *session) resolveURL(raw string) (*urlSource, error) {
	u, err := imapurl.Parse(raw)
	if err == nil {
		err = u.Resolve(s.selectedURL())
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errBadURL, err)
	}
	if u.URLAuth != "" || u.Expire != "" {
		return nil, fmt.Errorf("%w: URLAUTH is not offered", errBadURL)
	}
	if u.Server && (u.User != "" && !strings.EqualFold(u.User, s.mb.Username) || !s.ourHost(u.Host)) {
		return nil, fmt.Errorf("%w: another server or user", errBadURL)
	}
	src := &urlSource{u: u}
	if u.Section != "" {
		sec, err := imapwire.ParseSection(u.Section)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", errBadURL, err)
		}
		src.sec = &sec
	}
	name := "INBOX"
	if !strings.EqualFold(u.Mailbox, "INBOX") {
		name = imapwire.EncodeMailboxName(u.Mailbox)
	}
	p, err := s.locate(name, true)
	if errors.Is(err, errNoMailbox) || errors.Is(err, store.ErrNoFolder) || errors.Is(err, store.ErrBadName) ||
		err == nil && !p.rights.Has(acl.Read) {
		return nil, fmt.Errorf("%w: no readable mailbox %q", errBadURL, u.Mailbox)
	}
	if err != nil {
		return nil, err
	}
	fi, err := s.srv.o.Store.Folder(s.ctx, p.owner, p.folder)
	if errors.Is(err, store.ErrNoFolder) || errors.Is(err, store.ErrBadName) {
		return nil, fmt.Errorf("%w: no mailbox %q", errBadURL, u.Mailbox)
	}
	if err != nil {
		return nil, err
	}
	if u.UIDValidity != 0 && int64(u.UIDValidity) != fi.UIDValidity {
		return nil, fmt.Errorf("%w: UIDVALIDITY changed", errBadURL)
	}
	msgs, err := s.srv.o.Store.MessagesWith(s.ctx, p.owner, p.folder, []int64{int64(u.UID)}, store.PartFile)
	if err != nil {
		return nil, err
	}
	if len(msgs) == 0 {
		return nil, fmt.Errorf("%w: no message UID %d", errBadURL, u.UID)
	}
	f, err := s.srv.o.Store.OpenMessage(p.owner, p.folder, msgs[0])
	if err != nil {
		return nil, fmt.Errorf("%w: message gone: %v", errBadURL, err) // expunged meanwhile
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	src.f, src.size = f, st.Size()
	return src, nil
}

// selectedURL is the base of relative URLs: the selected mailbox (RFC
// 5092 7.2), nil when none is.
func (s *session) selectedURL() *imapurl.URL {
	if s.sel == nil {
		return nil
	}
	name, err := imapwire.DecodeMailboxName(s.sel.full)
	if err != nil {
		return nil
	}
	return &imapurl.URL{Mailbox: name, HasMailbox: true, UIDValidity: uint32(s.sel.info.UIDValidity)}
}

// ourHost reports whether an IMAP URL's host is this server: its
// configured hostname, or the address the client connected to.
func (s *session) ourHost(host string) bool {
	host = strings.TrimSuffix(strings.Trim(host, "[]"), ".")
	return strings.EqualFold(host, strings.TrimSuffix(s.cfg.Hostname, ".")) ||
		strings.EqualFold(host, "localhost") || s.lip.IsValid() && host == s.lip.String()
}

// catSpool collects a CATENATE message: in memory while the APPEND's
// share of memSpool lasts, then in a temporary file; never more than
// planned (the bytes catReserve allowed, at most limit).
type catSpool struct {
	limit, planned int64
	memLeft        *int64
	mem            []byte
	f              *os.File
	size           int64
}

func (w *catSpool) Write(p []byte) (int, error) {
	if w.size+int64(len(p)) > w.planned {
		return 0, fmt.Errorf("%w: CATENATE data beyond its announced size", errSpool)
	}
	if w.f == nil && int64(len(w.mem)+len(p)) > *w.memLeft {
		f, err := os.CreateTemp("", "mailwarden-append-*")
		if err != nil {
			return 0, fmt.Errorf("%w: %v", errSpool, err)
		}
		w.f = f
		if _, err := f.Write(w.mem); err != nil {
			return 0, fmt.Errorf("%w: %v", errSpool, err)
		}
		w.mem = nil
	}
	if w.f != nil {
		n, err := w.f.Write(p)
		w.size += int64(n)
		if err != nil {
			err = fmt.Errorf("%w: %v", errSpool, err)
		}
		return n, err
	}
	w.mem = append(w.mem, p...)
	w.size += int64(len(p))
	return len(p), nil
}

// spooled hands the message over as an APPEND body.
func (w *catSpool) spooled() *spooled {
	if w.f == nil {
		*w.memLeft -= int64(len(w.mem))
		if w.mem == nil {
			w.mem = []byte{}
		}
	}
	return &spooled{mem: w.mem, f: w.f, size: w.size}
}

func (w *catSpool) remove() { (&spooled{f: w.f}).remove() }
