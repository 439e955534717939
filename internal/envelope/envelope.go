package envelope

import (
	"crypto/rand"
	"net/netip"
	"sync/atomic"
	"time"
)

// Recipient is one RCPT TO with its parameters (RFC 3461 DSN) and, once
// delivery targets have been chosen, its own status.
type Recipient struct {
	// Address is the forward-path as given (source route stripped), with a
	// quoted local part kept quoted: "x@inner.test"@remote.test stays so
	// (RFC 5321 4.1.2), because the next hop needs it that way.
	Address string
	Notify  []string // NEVER, or some of SUCCESS, FAILURE, DELAY
	ORCPT   string   // "rfc822;addr" (decoded xtext), "" when not given
}

// Client is what the server knows of the SMTP client.
type Client struct {
	IP            netip.Addr
	Port          int
	Host          string // verified reverse DNS name, "unknown" when none
	HostConfirmed bool   // Host resolves back to IP (forward-confirmed rDNS)
	ReverseTemp   bool   // the reverse lookup failed for a temporary reason
	ReverseHost   string // the PTR name even when not confirmed, "" when none
	Helo          string
	TLSVersion    string // "TLSv1.3", "" in plaintext
	TLSCipher     string // "TLS_AES_128_GCM_SHA256"
	AuthUser      string // SASL user (mailbox name), "" when not authenticated
	AuthMech      string // its SASL mechanism
	Service       string // "smtp", "submission", "submissions", "pickup"
}

// HeaderOp is what a HeaderEdit does.
type HeaderOp int

const (
	// Prepend adds Field at the top of the header (above the trace).
	Prepend HeaderOp = iota
	// Append adds Field at the end of the header.
	Append
	// Remove deletes every field named Name.
	Remove
	// Replace deletes every field named Name, then appends Field.
	Replace
	// RemoveAuthServID deletes every field named Name (an
	// Authentication-Results) whose authserv-id is Field (RFC 8601 5:
	// results that claim to be ours but came from outside).
	RemoveAuthServID
)

// HeaderEdit is one change to the message header made by a check or
// filter; the body is never copied to apply one.
type HeaderEdit struct {
	Op    HeaderOp
	Name  string // field name, for Remove and Replace
	Field string // the whole field "Name: value", CRLF folded, no final CRLF
}

// Verdict records what one check said at one stage.
type Verdict struct {
	Stage  string // "connect", "helo", "mail", "rcpt", "data", "end-of-data"
	Check  string // its name, e.g. "reject_unauth_destination"
	Action string // "reject", "defer", "discard", "hold", "prepend", "filter", ...
	Reply  string // the SMTP reply it produced, "" when none
}

// Envelope is a message in flight: created at connect, filled in by every
// stage, handed to delivery and stored whole by the queue.
type Envelope struct {
	ID         string // queue id, Postfix style
	From       string // reverse-path; "" is the null sender
	Recipients []Recipient
	Received   time.Time

	ClientIP   netip.Addr
	ClientHost string // reverse DNS name, "unknown" when none
	Helo       string
	AuthUser   string
	TLS        string // e.g. "TLSv1.3 with cipher TLS_AES_128_GCM_SHA256", "" when plaintext
	Protocol   string // "ESMTP", "ESMTPS", "ESMTPSA", "SMTP", "LMTP", "local"

	// Client holds the rest of the client facts (port, FCrDNS, TLS
	// details, SASL mechanism, service); the fields above stay for the
	// code that reads them.
	Client Client

	EnvID     string // DSN ENVID
	Ret       string // DSN RET: FULL or HDRS
	Body8     bool   // BODY=8BITMIME
	SMTPUTF8  bool
	AuthParam string // MAIL FROM AUTH= (RFC 4954 5), decoded; "" when absent or <>

	Size int64 // bytes of body as received

	// Header holds the edits checks and filters made, in order; the
	// writer applies them when the message is stored or queued.
	Header []HeaderEdit
	// Verdicts are what the checks said, in order.
	Verdicts []Verdict
	// Auth holds the message-authentication results (SPF at MAIL; iprev,
	// DKIM, DomainKeys, ARC and DMARC at end of data), in order.
	Auth []AuthResult
}

var idCounter atomic.Uint32

// NewID returns a new queue id: 14 upper-case characters, time-ordered,
// unique within one data directory (time in microseconds, a counter and
// random bits).
func NewID() string {
	const alphabet = "0123456789BCDFGHJKLMNPQRSTVWXYZ" // no vowels: no words
	var r [2]byte
	rand.Read(r[:])
	n := uint64(time.Now().UnixMicro())
	c := uint64(idCounter.Add(1))
	var b [14]byte
	for k := 9; k >= 0; k-- {
		b[k] = alphabet[n%uint64(len(alphabet))]
		n /= uint64(len(alphabet))
	}
	tail := (c<<16 | uint64(r[0])<<8 | uint64(r[1])) % (31 * 31 * 31 * 31)
	for k := 10; k < 14; k++ {
		b[k] = alphabet[tail%31]
		tail /= 31
	}
	return string(b[:])
}
