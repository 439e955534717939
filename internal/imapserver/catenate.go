package imapserver

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
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
	var parsed parsedSource // parts of one message come in a row
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
		r, ok := s.catURL(p.URL, w, &parsed)
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
func (s *session) catURL(raw string, w *catSpool, parsed *parsedSource) (result, bool) {
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
	data, size, err := src.data(parsed)
	if errors.Is(err, errBadURL) {
		return badURL, false
	}
	if err != nil {
		s.logError("APPEND", err)
		return fail("UNAVAILABLE", "Internal error occurred, try again later."), false
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
	u             *imapurl.URL
	sec           *imapwire.Section // nil: the whole message
	owner, folder string
	validity      int64
	f             *os.File
	size          int64
}

// parsedSource keeps the last message a section was cut from, so that
// the parts of one message a CATENATE names in a row (RFC 4469 3's
// example takes three) are read and parsed once.
type parsedSource struct {
	key string
	msg *imapmsg.Message
}

// data returns what the URL names: the whole message streamed from its
// file, or a section (RFC 5092 5) as FETCH BODY[section] gives it, cut
// to the ;PARTIAL= range. For a section the message is read and parsed
// (once for the parts in a row that parsed, unless nil, keeps); it is in
// the store, so at most as big as an APPEND. An unknown section wraps
// errBadURL.
func (src *urlSource) data(parsed *parsedSource) (io.Reader, int64, error) {
	if src.sec == nil && src.u.Partial == nil {
		return src.f, src.size, nil
	}
	key := src.owner + "\x00" + src.folder + "\x00" + strconv.FormatInt(src.validity, 10) + "\x00" + strconv.FormatUint(uint64(src.u.UID), 10)
	var m *imapmsg.Message
	if parsed != nil && parsed.key == key {
		m = parsed.msg
	} else {
		raw := make([]byte, src.size)
		if _, err := io.ReadFull(src.f, raw); err != nil {
			return nil, 0, fmt.Errorf("read %s: %w", src.f.Name(), err)
		}
		m = imapmsg.Parse(raw)
		if parsed != nil {
			parsed.key, parsed.msg = key, m
		}
	}
	b, _ := m.Section(nil, "", nil) // the whole message, for a PARTIAL of it
	if src.sec != nil {
		var ok bool
		if b, ok = m.Section(src.sec.Part, src.sec.Specifier, src.sec.Fields); !ok {
			return nil, 0, fmt.Errorf("%w: section %s", errBadURL, src.u.Section)
		}
	}
	if p := src.u.Partial; p != nil {
		part := &imapwire.Partial{Offset: uint64(p.Offset), Count: uint64(p.Length)}
		if p.Length == 0 {
			part.Count = uint64(len(b))
		}
		b = clipBytes(b, part)
	}
	return bytes.NewReader(b), int64(len(b)), nil
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
		// RFC 4467 5: a URLAUTH-authorized URL is good for whoever its
		// access identifier admits, whatever the ACL.
		owner, folder, err := s.authorizeURL(raw, u)
		if err != nil {
			return nil, err
		}
		return s.openURL(u, owner, folder)
	}
	if u.Server && (u.User != "" && !strings.EqualFold(u.User, s.mb.Username) || !s.ourHost(u.Host)) {
		return nil, fmt.Errorf("%w: another server or user", errBadURL)
	}
	p, err := s.locate(urlMailbox(u), true)
	if errors.Is(err, errNoMailbox) || errors.Is(err, store.ErrNoFolder) || errors.Is(err, store.ErrBadName) ||
		err == nil && !p.rights.Has(acl.Read) {
		return nil, fmt.Errorf("%w: no readable mailbox %q", errBadURL, u.Mailbox)
	}
	if err != nil {
		return nil, err
	}
	return s.openURL(u, p.owner, p.folder)
}

// urlMailbox is the store form of a URL's mailbox name (UTF-8 in URLs,
// RFC 5092 3.3).
func urlMailbox(u *imapurl.URL) string {
	if strings.EqualFold(u.Mailbox, "INBOX") {
		return "INBOX"
	}
	return imapwire.EncodeMailboxName(u.Mailbox)
}

// openURL opens the message u names in folder of owner, checking its
// UIDVALIDITY and section syntax.
func (s *session) openURL(u *imapurl.URL, owner store.Account, folder string) (*urlSource, error) {
	src := &urlSource{u: u}
	if u.Section != "" {
		sec, err := imapwire.ParseSection(u.Section)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", errBadURL, err)
		}
		src.sec = &sec
	}
	fi, err := s.srv.o.Store.Folder(s.ctx, owner, folder)
	if errors.Is(err, store.ErrNoFolder) || errors.Is(err, store.ErrBadName) {
		return nil, fmt.Errorf("%w: no mailbox %q", errBadURL, u.Mailbox)
	}
	if err != nil {
		return nil, err
	}
	if u.UIDValidity != 0 && int64(u.UIDValidity) != fi.UIDValidity {
		return nil, fmt.Errorf("%w: UIDVALIDITY changed", errBadURL)
	}
	msgs, err := s.srv.o.Store.MessagesWith(s.ctx, owner, folder, []int64{int64(u.UID)}, store.PartFile)
	if err != nil {
		return nil, err
	}
	if len(msgs) == 0 {
		return nil, fmt.Errorf("%w: no message UID %d", errBadURL, u.UID)
	}
	f, err := s.srv.o.Store.OpenMessage(owner, folder, msgs[0])
	if err != nil {
		return nil, fmt.Errorf("%w: message gone: %v", errBadURL, err) // expunged meanwhile
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	src.f, src.size = f, st.Size()
	src.owner, src.folder, src.validity = owner.Username, folder, fi.UIDValidity
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
