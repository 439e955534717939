package imapwire

import "fmt"

// ParseError is a syntax or limit error in a client command. The server
// replies "Tag BAD [Code] Msg" ("* BAD ..." when Tag is empty).
type ParseError struct {
	// Tag of the failed command; empty when the error came before the tag.
	Tag string
	// Msg is a short human-readable explanation, safe to send to the client.
	Msg string
	// Code is an optional response code such as "TOOBIG" or "CLIENTBUG".
	Code string
	// Close means the input cannot be resynchronised (line too long, huge
	// non-synchronizing literal): reply, then close the connection.
	Close bool
	// Err is the underlying cause, e.g. the error of Reader.CheckAppend.
	Err error
}

func (e *ParseError) Error() string {
	s := e.Msg
	if e.Code != "" {
		s = "[" + e.Code + "] " + s
	}
	if e.Tag != "" {
		return fmt.Sprintf("imapwire: %s: %s", e.Tag, s)
	}
	return "imapwire: " + s
}

// Unwrap returns the underlying cause, if any.
func (e *ParseError) Unwrap() error { return e.Err }
