package mime

import (
	"errors"
	"fmt"
	"io"
	"sync"
)

// Body is a message held elsewhere that can be read from the start as
// often as needed: policy.Body (the spooled message at end of data) and
// delivery.Body satisfy it.
type Body interface {
	Reader() io.Reader
	Size() int64
}

// ErrTooLarge is returned by ReadBody for a body over the limit.
var ErrTooLarge = errors.New("mime: message over the size limit")

// ReadBody parses the message in b: the whole body is read once into one
// buffer of exactly b.Size() octets, then parsed lazily (Parse). A body
// over max octets (max > 0) is not read: ErrTooLarge. A body that also
// has a method Bytes() []byte returning its Size() octets (a spool held in
// memory, as envelope.Spool) is parsed in place, without a copy; do not
// modify it while the Message is in use.
//
// Why one buffer rather than a streaming parse: the parts a check looks
// at (a header, an attachment's name, a decoded text) are found at
// offsets and read in any order, and IMAP needs the same random access,
// so the parser works on bytes in memory. The cost is one allocation of
// the message's size, bounded by max (smtpd's message_size_limit, 25 MB by
// default), held only while the check runs, and none at all for a spool
// still in memory (up to 256 KB in smtpd). A short read (the body shrank)
// is an error, never a silently truncated parse.
func ReadBody(b Body, max int64) (*Message, error) {
	size := b.Size()
	if size < 0 {
		return nil, fmt.Errorf("mime: read body: negative size %d", size)
	}
	if max > 0 && size > max {
		return nil, fmt.Errorf("mime: read body of %d octets: %w", size, ErrTooLarge)
	}
	if sb, ok := b.(*SharedBody); ok {
		return sb.message()
	}
	if mb, ok := b.(interface{ Bytes() []byte }); ok {
		if raw := mb.Bytes(); raw != nil && int64(len(raw)) == size {
			return Parse(raw), nil
		}
	}
	raw := make([]byte, size)
	if _, err := io.ReadFull(b.Reader(), raw); err != nil {
		return nil, fmt.Errorf("mime: read body of %d octets: %w", size, err)
	}
	return Parse(raw), nil
}

// SharedBody is a Body whose parse is shared: ReadBody of it reads and
// parses the body once, on first use, and gives every later caller the
// same Message (each caller's max still applies). The SMTP engine wraps
// the spool in one before the end-of-data checks, so that several
// content checks cost one read and one parse. Safe for concurrent use.
type SharedBody struct {
	Body
	once sync.Once
	msg  *Message
	err  error
}

// Shared returns b with its parse shared (SharedBody).
func Shared(b Body) *SharedBody { return &SharedBody{Body: b} }

func (s *SharedBody) message() (*Message, error) {
	s.once.Do(func() { s.msg, s.err = ReadBody(s.Body, 0) })
	return s.msg, s.err
}
