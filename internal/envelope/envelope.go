package envelope

import (
	"crypto/rand"
	"net/netip"
	"sync/atomic"
	"time"
)

// Recipient is one RCPT TO with its DSN parameters (RFC 3461).
type Recipient struct {
	Address string // as given (after source-route stripping)
	Notify  []string
	ORCPT   string
}

// Envelope is a message in flight.
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
	Protocol   string // "ESMTP", "ESMTPS", "ESMTPSA", "SMTP", "LMTP"

	EnvID    string // DSN ENVID
	Ret      string // DSN RET: FULL or HDRS
	Body8    bool   // BODY=8BITMIME
	SMTPUTF8 bool

	Size int64 // bytes of body as received
}

var idCounter atomic.Uint32

// NewID returns a new queue id: 12 upper-case characters, time-ordered,
// unique within one data directory (time in microseconds, a counter and
// random bits).
func NewID() string {
	const alphabet = "0123456789BCDFGHJKLMNPQRSTVWXYZ" // no vowels: no words
	var r [2]byte
	rand.Read(r[:])
	n := uint64(time.Now().UnixMicro())
	c := uint64(idCounter.Add(1))
	var b [16]byte
	i := len(b)
	for k := 0; k < 10; k++ {
		i--
		b[i] = alphabet[n%uint64(len(alphabet))]
		n /= uint64(len(alphabet))
	}
	tail := (c<<16 | uint64(r[0])<<8 | uint64(r[1])) % (31 * 31 * 31 * 31)
	out := string(b[i:])
	for k := 0; k < 4; k++ {
		out += string(alphabet[tail%31])
		tail /= 31
	}
	return out
}
