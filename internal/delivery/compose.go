package delivery

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"strings"

	"mailwarden/internal/envelope"
	"mailwarden/internal/mime"
)

// maxEditHeader bounds how much of the message header is read to apply
// header edits (Postfix header_size_limit is 100 KB a field; this is the
// whole header). Fields past it are left as they are, and appended fields
// go before them.
const maxEditHeader = 1 << 20

// Compose returns what every copy of a message holds: the fields the
// envelope's edits prepend, the trace, the message header with the other
// edits applied (in order), then the rest of body, streamed from it and
// never copied. Without edits it is trace then body. The edits apply to
// the sender's header, never to the trace (our own Received: field).
func Compose(env *envelope.Envelope, trace []byte, body Body) (Body, error) {
	if len(env.Header) == 0 {
		return &composed{head: trace, body: body}, nil
	}
	fields, used, noHeader, err := readHeader(body.Reader())
	if err != nil {
		return nil, fmt.Errorf("delivery: read header: %w", err)
	}
	var top [][]byte
	for _, e := range env.Header {
		if e.Op == envelope.RemoveAuthServID {
			fields = removeAuthServID(fields, e.Name, e.Field)
			continue
		}
		f := fieldBytes(e.Field)
		if f == nil && e.Op != envelope.Remove {
			if e.Op == envelope.Replace {
				fields = removeFields(fields, e.Name)
			}
			continue
		}
		switch e.Op {
		case envelope.Prepend:
			top = append(top, f)
		case envelope.Append:
			fields = append(fields, f)
		case envelope.Remove:
			fields = removeFields(fields, e.Name)
		case envelope.Replace:
			fields = append(removeFields(fields, e.Name), f)
		default:
			return nil, fmt.Errorf("delivery: unknown header edit %d", e.Op)
		}
	}
	var head bytes.Buffer
	for _, f := range top {
		head.Write(f)
	}
	head.Write(trace)
	for _, f := range fields {
		head.Write(f)
		if f[len(f)-1] != '\n' { // the message ended there: end the field
			head.WriteString("\r\n")
		}
	}
	if noHeader {
		head.WriteString("\r\n") // RFC 5322 2.1: the empty line before the body
	}
	return &composed{head: head.Bytes(), body: body, skip: used}, nil
}

// composed is head, then body from byte skip on.
type composed struct {
	head []byte
	body Body
	skip int64
}

func (c *composed) Size() int64 { return int64(len(c.head)) + c.body.Size() - c.skip }

func (c *composed) Reader() io.Reader {
	r := c.body.Reader()
	if c.skip > 0 {
		if s, ok := r.(io.Seeker); ok {
			if _, err := s.Seek(c.skip, io.SeekCurrent); err != nil {
				return errReader{err}
			}
		} else if _, err := io.CopyN(io.Discard, r, c.skip); err != nil {
			return errReader{err}
		}
	}
	if len(c.head) == 0 {
		return r
	}
	return &headReader{head: c.head, rest: r}
}

// headReader reads head, then rest. Its WriteTo lets io.Copy write both
// without a copy buffer (the rest is usually a bytes.Reader or a
// SectionReader of the spool file).
type headReader struct {
	head []byte
	rest io.Reader
}

func (h *headReader) Read(p []byte) (int, error) {
	if len(h.head) > 0 {
		n := copy(p, h.head)
		h.head = h.head[n:]
		return n, nil
	}
	return h.rest.Read(p)
}

func (h *headReader) WriteTo(w io.Writer) (int64, error) {
	var total int64
	if len(h.head) > 0 {
		n, err := w.Write(h.head)
		total += int64(n)
		h.head = h.head[n:]
		if err != nil {
			return total, err
		}
	}
	n, err := io.Copy(w, h.rest)
	return total + n, err
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

// readHeader reads the message header for editing, as internal/mime
// reads a header (RFC 5322 2.2): it ends with the first empty line or the
// end of the message, folded lines belong to their field, and a line in
// it that is not a field stays in its place. At most maxEditHeader bytes
// are read: past them, the field that may go on is left to the rest.
//
// It returns the fields, each whole with its line end (the last one may
// lack it when the message ends there), and how many bytes they took;
// the empty line and whatever follows are the rest of the message. When
// the message starts with a line that is neither empty nor a field, it
// has no header (as mime reads a body part): no fields, and noHeader is
// set so that the edited header gets the empty line that ends it.
func readHeader(r io.Reader) (fields [][]byte, used int64, noHeader bool, err error) {
	buf, complete, err := headerBytes(r)
	if err != nil {
		return nil, 0, false, err
	}
	h, _ := mime.ParseHeader(buf)
	n := h.Len()
	if n > 0 && !h.Valid(0) {
		return nil, 0, true, nil
	}
	if !complete && n > 0 {
		n-- // it may go on past what was read
	}
	fields = make([][]byte, n)
	for i := range n {
		fields[i] = h.Raw(i)
	}
	if n > 0 {
		_, end := h.Span(n - 1)
		used = int64(end)
	}
	return fields, used, false, nil
}

// headerBytes reads from r up to the end of the line that ends the header
// (an empty line), the end of r, or about maxEditHeader bytes; complete
// is false in the last case.
func headerBytes(r io.Reader) (buf []byte, complete bool, err error) {
	br := bufio.NewReaderSize(r, 4096)
	lineStart := 0
	for len(buf) < maxEditHeader {
		chunk, err := br.ReadSlice('\n')
		buf = append(buf, chunk...)
		switch {
		case err == bufio.ErrBufferFull:
			continue // the line goes on
		case err == io.EOF:
			return buf, true, nil
		case err != nil:
			return nil, false, err
		}
		if line := buf[lineStart:]; len(line) == 1 || len(line) == 2 && line[0] == '\r' {
			return buf, true, nil
		}
		lineStart = len(buf)
	}
	return buf, false, nil
}

// removeFields drops every field named name (case-insensitive, RFC 5322
// 1.2.2), folded lines and all.
func removeFields(fields [][]byte, name string) [][]byte {
	out := fields[:0]
	for _, f := range fields {
		h, _ := mime.ParseHeader(f)
		if h.Len() == 0 || !h.Is(0, name) {
			out = append(out, f)
		}
	}
	return out
}

// removeAuthServID drops every field named name whose value starts with
// the authserv-id id (RFC 8601 2.2, compared case-insensitively).
func removeAuthServID(fields [][]byte, name, id string) [][]byte {
	out := fields[:0]
	for _, f := range fields {
		h, _ := mime.ParseHeader(f)
		if h.Len() == 0 || !h.Is(0, name) || mime.AuthServID(h.Value(0)) != strings.ToLower(id) {
			out = append(out, f)
		}
	}
	return out
}

// fieldBytes makes a header field safe to write: CRLF line ends, every
// line after the first folded (starts with a space or tab), no NUL, and a
// final CRLF. A value from a table or a client can thus never add a field
// of its own or end the header (RFC 5322 2.2.3). Something that is not a
// field (no name before its colon, RFC 5322 2.2) gives nil: it is left out.
func fieldBytes(field string) []byte {
	field = strings.ReplaceAll(field, "\x00", "")
	name, _, ok := strings.Cut(field, ":")
	if !ok || name == "" || strings.IndexFunc(name, func(r rune) bool { return r <= ' ' || r > '~' }) >= 0 {
		return nil
	}
	field = strings.TrimRight(field, "\r\n")
	lines := strings.FieldsFunc(field, func(r rune) bool { return r == '\r' || r == '\n' })
	var b bytes.Buffer
	for i, l := range lines {
		if strings.TrimSpace(l) == "" {
			continue
		}
		if i > 0 {
			b.WriteString("\r\n")
			if l[0] != ' ' && l[0] != '\t' {
				b.WriteByte(' ')
			}
		}
		b.WriteString(l)
	}
	b.WriteString("\r\n")
	return b.Bytes()
}
