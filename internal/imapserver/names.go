package imapserver

import (
	"strings"
	"unicode/utf8"

	"mailwarden/internal/imapwire"
)

// storeName turns a mailbox name from the wire into the store's form,
// modified UTF-7 (RFC 3501 5.1.3): as sent by a client that did not
// enable UTF-8, encoded from UTF-8 for one that did (RFC 6855 3). INBOX
// is case-insensitive. ok is false for a name that is not valid in the
// client's encoding.
func (s *session) storeName(wire string) (name string, ok bool) {
	if strings.EqualFold(wire, "INBOX") {
		return "INBOX", true
	}
	if s.utf8 {
		if !utf8.ValidString(wire) {
			return "", false
		}
		return imapwire.EncodeMailboxName(wire), true
	}
	if _, err := imapwire.DecodeMailboxName(wire); err != nil {
		return "", false
	}
	return wire, true
}

// mailbox writes a store name on the wire in the client's encoding.
func (s *session) mailbox(w *imapwire.Writer, name string) *imapwire.Writer {
	if d, err := imapwire.DecodeMailboxName(name); err == nil {
		return w.Mailbox(d)
	}
	return w.AString(name)
}

// badName is the reply to a mailbox name the client cannot have meant.
func badName() result {
	return fail("CANNOT", "Invalid mailbox name.")
}
