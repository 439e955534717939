package imapserver

import (
	"slices"

	"mailwarden/internal/imapwire"
)

// OBJECTID (RFC 8474): the ids live in the store (store/objectid.go);
// this file puts them on the wire. THREADID is always NIL (RFC 8474 5.2
// allows it): the server keeps no thread relation between messages
// (THREAD REFERENCES is computed per command), so SEARCH THREADID
// matches nothing.

// mailboxIDCode returns the "MAILBOXID (id)" response code of the folder
// p names (RFC 8474 4.1, 4.2), or "" when the id cannot be read (the
// folder went away meanwhile).
func (s *session) mailboxIDCode(p place) string {
	id, err := s.srv.o.Store.MailboxID(s.ctx, p.owner, p.folder)
	if err != nil {
		s.logError("MAILBOXID", err)
		return ""
	}
	return "MAILBOXID (" + id + ")"
}

// writeSelectMailboxID sends "* OK [MAILBOXID (id)]" for SELECT and
// EXAMINE (RFC 8474 4.2).
func (s *session) writeSelectMailboxID(p place) {
	if code := s.mailboxIDCode(p); code != "" {
		s.w.Untagged().Atom("OK").Text(code, "Ok").End()
	}
}

// statusMailboxID returns the MAILBOXID of the store-form IMAP name for
// STATUS (RFC 8474 4.3), "" unless items ask for it or when it cannot be
// read (the item is then left out rather than sent malformed).
func (s *session) statusMailboxID(name string, items []string) string {
	if !slices.Contains(items, "MAILBOXID") {
		return ""
	}
	p, err := s.locate(name, false)
	if err != nil {
		return ""
	}
	id, err := s.srv.o.Store.MailboxID(s.ctx, p.owner, p.folder)
	if err != nil {
		s.logError("STATUS", err)
		return ""
	}
	return id
}

// writeObjectID writes "EMAILID (id)" or "THREADID NIL" of a FETCH
// response (RFC 8474 5.1, 5.2, 7: fetch-emailid-resp,
// fetch-threadid-resp). The store returns no row for a message without
// an EMAILID (fetchOne answers it as expunged).
func writeObjectID(w *imapwire.Writer, kind imapwire.FetchKind, emailID string) {
	if kind == imapwire.FetchEmailID {
		w.Atom("EMAILID").Open().Atom(emailID).Close()
		return
	}
	w.Atom("THREADID").NIL()
}
