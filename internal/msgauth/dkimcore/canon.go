package dkimcore

import (
	"bytes"
	"io"
)

// Canonicalization algorithms (RFC 6376 3.4).
const (
	Simple  = "simple"
	Relaxed = "relaxed"
)

func isWSP(c byte) bool { return c == ' ' || c == '\t' }

// CanonHeader returns the header field raw (name, colon, value, folded
// lines and line end) canonicalized with alg, ending in CRLF.
func CanonHeader(alg string, raw []byte) []byte {
	if alg == Simple {
		// RFC 6376 3.4.1: no change; bare LFs are read as line ends.
		out := make([]byte, 0, len(raw)+2)
		for i, c := range raw {
			if c == '\n' && (i == 0 || raw[i-1] != '\r') {
				out = append(out, '\r')
			}
			out = append(out, c)
		}
		if !bytes.HasSuffix(out, []byte("\r\n")) {
			out = append(out, '\r', '\n')
		}
		return out
	}
	// RFC 6376 3.4.2: lower-case name, unfold, runs of WSP to one SP,
	// no WSP at the end of the value or around the colon.
	colon := bytes.IndexByte(raw, ':')
	if colon < 0 {
		colon = len(raw)
	}
	out := make([]byte, 0, len(raw)+2)
	for _, c := range bytes.TrimRight(raw[:colon], " \t") {
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		out = append(out, c)
	}
	out = append(out, ':')
	if colon < len(raw) {
		wsp := false
		started := false
		for _, c := range raw[colon+1:] {
			switch {
			case c == '\r' || c == '\n':
			case isWSP(c):
				wsp = true
			default:
				if wsp && started {
					out = append(out, ' ')
				}
				wsp, started = false, true
				out = append(out, c)
			}
		}
	}
	return append(out, '\r', '\n')
}

// BodyCanon is a writer that canonicalizes a body as it streams through
// (RFC 6376 3.4.3 simple, 3.4.4 relaxed) into w, stopping after limit
// bytes of canonical output (l=) when limit >= 0. A bare LF is read as a
// line end, a CR not before LF as an ordinary character.
type BodyCanon struct {
	w       io.Writer
	relaxed bool
	limit   int64 // -1: none
	written int64
	total   int64 // canonical bytes seen, written or cut by limit

	cr       bool // a CR is pending (may start a line end)
	wsp      bool // relaxed: blanks are pending inside the line
	crlfs    int  // line ends not written yet (trailing empty lines vanish)
	anything bool // some content was written
	buf      []byte
}

// NewBodyCanon returns a BodyCanon writing into w with alg (Simple or
// Relaxed), stopping after limit canonical bytes when limit >= 0.
func NewBodyCanon(w io.Writer, alg string, limit int64) *BodyCanon {
	return &BodyCanon{w: w, relaxed: alg == Relaxed, limit: limit, buf: make([]byte, 0, 4096)}
}

func (b *BodyCanon) Write(p []byte) (int, error) {
	for _, c := range p {
		if b.cr {
			b.cr = false
			if c == '\n' {
				b.lineEnd()
				continue
			}
			b.char('\r')
		}
		switch {
		case c == '\r':
			b.cr = true
		case c == '\n':
			b.lineEnd()
		case b.relaxed && isWSP(c):
			b.wsp = true
		default:
			b.char(c)
		}
	}
	return len(p), b.flush()
}

func (b *BodyCanon) lineEnd() {
	b.wsp = false // RFC 6376 3.4.4: no WSP at the end of a line
	b.crlfs++
}

func (b *BodyCanon) char(c byte) {
	for ; b.crlfs > 0; b.crlfs-- {
		b.buf = append(b.buf, '\r', '\n')
	}
	if b.wsp {
		b.buf = append(b.buf, ' ')
		b.wsp = false
	}
	b.buf = append(b.buf, c)
	b.anything = true
	if len(b.buf) >= 4096 {
		b.flush()
	}
}

// Written is how many canonical bytes went to w so far.
func (b *BodyCanon) Written() int64 { return b.written }

// Total is how many canonical bytes the body has, l= or not, once Close
// has run.
func (b *BodyCanon) Total() int64 { return b.total }

func (b *BodyCanon) flush() error {
	p := b.buf
	b.buf = b.buf[:0]
	b.total += int64(len(p))
	if b.limit >= 0 {
		if rest := b.limit - b.written; int64(len(p)) > rest {
			p = p[:max(rest, 0)]
		}
	}
	b.written += int64(len(p))
	_, err := b.w.Write(p)
	return err
}

// Close writes the final line end: simple always ends with one CRLF (an
// empty body is CRLF, RFC 6376 3.4.3), relaxed only a non-empty body.
func (b *BodyCanon) Close() error {
	if b.cr {
		b.cr = false
		b.char('\r')
	}
	if b.anything || !b.relaxed {
		b.buf = append(b.buf, '\r', '\n')
	}
	return b.flush()
}
