package delivery

import (
	"mailwarden/internal/store"

	"mailwarden/internal/directory"
	"mailwarden/internal/envelope"
)

// ErrOverQuota is returned (wrapped) when a mailbox has no room for a message.
var ErrOverQuota = store.ErrOverQuota

// Routed is one RCPT TO with where it resolved to.
type Routed struct {
	Rcpt envelope.Recipient
	Dest directory.Destination
}

// Message is an accepted message ready to be handed over.
type Message struct {
	Env *envelope.Envelope
	// Trace is prepended to every copy (the Received: header, CRLF-terminated).
	Trace []byte
	Body  *envelope.Spool
	Rcpts []Routed
}
