package delivery

import (
	"io"

	"mailwarden/internal/directory"
	"mailwarden/internal/envelope"
	"mailwarden/internal/store"
)

// ErrOverQuota is returned (wrapped) when a mailbox has no room for a message.
var ErrOverQuota = store.ErrOverQuota

// Routed is one RCPT TO with where it resolved to.
type Routed struct {
	Rcpt envelope.Recipient
	Dest directory.Destination
	// Defer, when set, is why this copy waits in the queue instead of
	// being delivered now ("552 5.2.2 mailbox full"): the router sets it
	// when a target put the recipient off (see DeferError).
	Defer string
}

// Message is an accepted message ready to be handed over.
type Message struct {
	Env *envelope.Envelope
	// Trace is prepended to every copy (the Received: header, CRLF-terminated).
	Trace []byte
	Body  Body
	Rcpts []Routed

	size int64 // Size, once known
}

// Body is a message that can be read more than once (envelope.Spool,
// a queue file).
type Body interface {
	Reader() io.Reader
	Size() int64
}

// Size is the message as accepted and stored: trace, body and the
// fields header edits add (Postfix's size=). With edits the header is
// read once to count them.
func (m *Message) Size() int64 {
	if m.size > 0 {
		return m.size
	}
	n := int64(len(m.Trace))
	if m.Body != nil {
		n += m.Body.Size()
		if m.Env != nil && len(m.Env.Header) > 0 {
			if b, err := Compose(m.Env, m.Trace, m.Body); err == nil {
				n = b.Size()
			}
		}
	}
	m.size = n
	return n
}
