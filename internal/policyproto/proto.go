package policyproto

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Attr is one "name=value" line.
type Attr struct {
	Name, Value string
}

// Attrs are the attributes of one request or reply, in the order sent.
type Attrs []Attr

// Get returns the value of the first attribute called name, and whether
// there is one.
func (a Attrs) Get(name string) (string, bool) {
	for _, x := range a {
		if x.Name == name {
			return x.Value, true
		}
	}
	return "", false
}

// Value returns the value of name, "" when absent.
func (a Attrs) Value(name string) string {
	v, _ := a.Get(name)
	return v
}

// The attributes Postfix 3.x sends in a request, in its order
// (SMTPD_POLICY_README, "Policy protocol description").
var RequestNames = []string{
	"request", "protocol_state", "protocol_name", "helo_name", "queue_id",
	"sender", "recipient", "recipient_count", "client_address", "client_name",
	"reverse_client_name", "instance",
	// Postfix 2.2
	"sasl_method", "sasl_username", "sasl_sender", "size",
	"ccert_subject", "ccert_issuer", "ccert_fingerprint",
	// Postfix 2.3
	"encryption_protocol", "encryption_cipher", "encryption_keysize", "etrn_domain",
	// Postfix 2.5
	"stress",
	// Postfix 2.9
	"ccert_pubkey_fingerprint",
	// Postfix 3.0, 3.1, 3.2, 3.8
	"client_port", "policy_context", "server_address", "server_port",
	"compatibility_level", "mail_version",
}

// RequestType is the value of the request attribute of an SMTPD access
// policy query.
const RequestType = "smtpd_access_policy"

// Limits bound what a Reader accepts; zero fields take the defaults.
type Limits struct {
	MaxLine  int // bytes in one line, newline excluded (default 4096)
	MaxAttrs int // attributes in one request (default 100)
	MaxSize  int // bytes in one request, newlines included (default 64 KiB)
}

// Defaults: Postfix's request is about 30 attributes of which only the
// addresses and names can be long (an address is at most 254 octets in
// RFC 5321 4.5.3.1.3, a line 1000 octets in RFC 5321 4.5.3.1.6), so these
// leave room without letting a stranger fill memory.
const (
	DefaultMaxLine  = 4096
	DefaultMaxAttrs = 100
	DefaultMaxSize  = 64 << 10
)

func (l Limits) withDefaults() Limits {
	if l.MaxLine <= 0 {
		l.MaxLine = DefaultMaxLine
	}
	if l.MaxAttrs <= 0 {
		l.MaxAttrs = DefaultMaxAttrs
	}
	if l.MaxSize <= 0 {
		l.MaxSize = DefaultMaxSize
	}
	return l
}

// Errors a Reader returns for input it refuses; the connection cannot be
// trusted to be in step after one of them and should be closed.
var (
	ErrLineTooLong  = errors.New("policy protocol: line too long")
	ErrTooManyAttrs = errors.New("policy protocol: too many attributes")
	ErrTooLarge     = errors.New("policy protocol: request too large")
	ErrMalformed    = errors.New("policy protocol: malformed attribute")
	ErrEmpty        = errors.New("policy protocol: no attributes before the empty line")
)

// Reader reads requests or replies from one connection.
type Reader struct {
	br  *bufio.Reader
	lim Limits
}

// NewReader reads from r with the limits lim.
func NewReader(r io.Reader, lim Limits) *Reader {
	lim = lim.withDefaults()
	br, ok := r.(*bufio.Reader)
	if !ok || br.Size() < 512 {
		br = bufio.NewReaderSize(r, min(lim.MaxLine+2, 64<<10))
	}
	return &Reader{br: br, lim: lim}
}

// Buffered reports whether input is waiting in the buffer: a peer that
// sent more than one request without waiting for a reply.
func (r *Reader) Buffered() int { return r.br.Buffered() }

// Read reads attributes up to the empty line that ends them. io.EOF
// means the peer closed the connection between two requests;
// io.ErrUnexpectedEOF that it closed in the middle of one. A line ends at
// "\n" (a "\r" before it is dropped, for peers that send CRLF); a line
// without "=", with an empty name or with a CR inside is ErrMalformed. Names are kept as
// sent, values are everything after the first "=".
func (r *Reader) Read() (Attrs, error) {
	var attrs Attrs
	size := 0
	for {
		line, err := r.line()
		if err != nil {
			if err == io.EOF && (len(attrs) > 0 || size > 0) {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
		size += len(line) + 1
		if size > r.lim.MaxSize {
			return nil, ErrTooLarge
		}
		if len(line) == 0 {
			if len(attrs) == 0 {
				return nil, ErrEmpty
			}
			return attrs, nil
		}
		if len(attrs) >= r.lim.MaxAttrs {
			return nil, ErrTooManyAttrs
		}
		name, value, ok := bytes.Cut(line, []byte("="))
		if !ok || len(name) == 0 || !validName(name) || bytes.IndexByte(value, '\r') >= 0 {
			return nil, fmt.Errorf("%w: %q", ErrMalformed, truncate(line, 64))
		}
		attrs = append(attrs, Attr{Name: string(name), Value: string(value)})
	}
}

// line returns one line without its newline, within MaxLine.
func (r *Reader) line() ([]byte, error) {
	var long []byte // a line longer than the buffer, gathered
	for {
		frag, err := r.br.ReadSlice('\n')
		if len(long)+len(frag) > r.lim.MaxLine+2 { // +2: CR LF
			return nil, ErrLineTooLong
		}
		switch err {
		case nil:
			line := frag
			if long != nil {
				line = append(long, frag...)
			}
			line = line[:len(line)-1]
			if n := len(line); n > 0 && line[n-1] == '\r' {
				line = line[:n-1]
			}
			if len(line) > r.lim.MaxLine {
				return nil, ErrLineTooLong
			}
			return line, nil
		case bufio.ErrBufferFull:
			long = append(long, frag...)
		case io.EOF:
			if len(long)+len(frag) > 0 {
				return nil, io.ErrUnexpectedEOF
			}
			return nil, io.EOF
		default:
			return nil, err
		}
	}
}

// validName accepts what Postfix's attribute names are made of, and a
// little more (upper case, digits, '-', '.'), but no blanks or controls.
func validName(b []byte) bool {
	for _, c := range b {
		if c <= ' ' || c == 0x7f || c == '=' {
			return false
		}
	}
	return true
}

func truncate(b []byte, n int) []byte {
	if len(b) > n {
		return b[:n]
	}
	return b
}

// ErrUnsafe is returned by Write for a name or value that would break the
// framing (a newline, or "=" or a blank in a name).
var ErrUnsafe = errors.New("policy protocol: attribute would break the framing")

// Append appends attrs as lines and the empty line that ends them.
func Append(b []byte, attrs Attrs) ([]byte, error) {
	for _, a := range attrs {
		if a.Name == "" || !validName([]byte(a.Name)) || strings.ContainsAny(a.Value, "\r\n") {
			return b, fmt.Errorf("%w: %q", ErrUnsafe, a.Name)
		}
		b = append(b, a.Name...)
		b = append(b, '=')
		b = append(b, a.Value...)
		b = append(b, '\n')
	}
	return append(b, '\n'), nil
}

// Write writes attrs and the empty line in one Write call.
func Write(w io.Writer, attrs Attrs) error {
	b, err := Append(make([]byte, 0, 512), attrs)
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}

// Clean makes s safe as a value: CR, LF and NUL become spaces (an SMTP
// argument cannot hold them, but a value built from other sources might).
func Clean(s string) string {
	if !strings.ContainsAny(s, "\r\n\x00") {
		return s
	}
	return strings.Map(func(r rune) rune {
		if r == '\r' || r == '\n' || r == 0 {
			return ' '
		}
		return r
	}, s)
}

// Reply is the reply "action=VALUE".
func Reply(action string) Attrs { return Attrs{{Name: "action", Value: Clean(action)}} }
