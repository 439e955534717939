package domainkeys

import "io"

// Canonicalizations (RFC 4870 3.4).
const (
	Simple = "simple"
	NoFWS  = "nofws"
)

// canonHeader canonicalizes one header field (raw, folded lines and
// line end included): simple keeps it (3.4.2.1), nofws drops every SP,
// HTAB, CR and LF (3.4.2.2); both end it with CRLF.
func canonHeader(alg string, raw []byte) []byte {
	out := make([]byte, 0, len(raw)+2)
	if alg == NoFWS {
		for _, c := range raw {
			if c != ' ' && c != '\t' && c != '\r' && c != '\n' {
				out = append(out, c)
			}
		}
		return append(out, '\r', '\n')
	}
	for len(raw) > 0 && (raw[len(raw)-1] == '\n' || raw[len(raw)-1] == '\r') {
		raw = raw[:len(raw)-1]
	}
	for i, c := range raw {
		if c == '\n' && (i == 0 || raw[i-1] != '\r') {
			out = append(out, '\r') // a bare LF inside a folded field
		}
		out = append(out, c)
	}
	return append(out, '\r', '\n')
}

// bodyCanon streams the empty line after the header and the body through
// a canonicalization into w (RFC 4870 3.4): empty lines at the end are
// dropped (the separating empty line with them when the body is empty);
// nofws also drops SP, HTAB and any CR or LF that is not part of a CRLF.
// simple reads a bare LF as a line end.
type bodyCanon struct {
	w      io.Writer
	nofws  bool
	cr     bool // a CR is pending
	start  bool // at the start of a line
	crlfs  int  // empty lines not written yet
	buf    []byte
	broken error
}

func newBodyCanon(w io.Writer, alg string) *bodyCanon {
	// The empty line between header and body counts as the first
	// pending line end.
	return &bodyCanon{w: w, nofws: alg == NoFWS, start: true, crlfs: 1, buf: make([]byte, 0, 4096)}
}

func (b *bodyCanon) Write(p []byte) (int, error) {
	for _, c := range p {
		if b.cr {
			b.cr = false
			if c == '\n' {
				b.lineEnd()
				continue
			}
			if !b.nofws {
				b.char('\r')
			}
		}
		switch {
		case c == '\r':
			b.cr = true
		case c == '\n':
			if !b.nofws {
				b.lineEnd()
			}
		case b.nofws && (c == ' ' || c == '\t'):
		default:
			b.char(c)
		}
	}
	b.flush()
	return len(p), b.broken
}

func (b *bodyCanon) lineEnd() {
	if b.start {
		b.crlfs++
		return
	}
	b.buf = append(b.buf, '\r', '\n')
	b.start = true
}

func (b *bodyCanon) char(c byte) {
	for ; b.crlfs > 0; b.crlfs-- {
		b.buf = append(b.buf, '\r', '\n')
	}
	b.buf = append(b.buf, c)
	b.start = false
	if len(b.buf) >= 4096 {
		b.flush()
	}
}

func (b *bodyCanon) flush() {
	if _, err := b.w.Write(b.buf); err != nil && b.broken == nil {
		b.broken = err
	}
	b.buf = b.buf[:0]
}

// Close ends the body: a pending lone CR is content for simple.
func (b *bodyCanon) Close() error {
	if b.cr && !b.nofws {
		b.char('\r')
	}
	b.cr = false
	b.flush()
	return b.broken
}
