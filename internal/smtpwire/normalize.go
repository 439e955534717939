package smtpwire

import (
	"bytes"
	"io"
)

// Normalizer is an io.Writer for the contents of BDAT chunks (RFC 3030: no
// dot-stuffing, so no end marker to protect). It writes to W what it is
// given with every bare CR and bare LF turned into CRLF and NUL bytes
// dropped, the same rules DataReader applies. A CR at the end of one Write
// followed by a LF at the start of the next is one CRLF: the output does
// not depend on how the input is split into Writes. Close writes a trailing
// CR as CRLF; it does not close W.
type Normalizer struct {
	W io.Writer

	buf        []byte
	pendingCR  bool
	nul        int
	normalized bool
	size       int64
	err        error
}

// NewNormalizer returns a Normalizer writing to w.
func NewNormalizer(w io.Writer) *Normalizer {
	return &Normalizer{W: w}
}

// Write normalizes p and writes the result to W. It returns len(p) unless W
// failed; after a failure every call returns that error. Lines that need no
// change are found with bytes.IndexByte and passed on without copying when
// the whole of p is clean.
func (n *Normalizer) Write(p []byte) (int, error) {
	if n.err != nil {
		return 0, n.err
	}
	out := n.buf[:0]
	start := 0 // first byte of p not yet copied to out
	i := 0
	if n.pendingCR && len(p) > 0 {
		n.pendingCR = false
		out = append(out, '\r', '\n')
		if p[0] == '\n' {
			i, start = 1, 1
		} else {
			n.normalized = true
		}
	}
	for i < len(p) {
		end := len(p) // end of this line, LF excluded
		lf := bytes.IndexByte(p[i:], '\n')
		if lf >= 0 {
			end = i + lf
		}
		body := p[i:end]
		if lf >= 0 && len(body) > 0 && body[len(body)-1] == '\r' {
			body = body[:len(body)-1]
		}
		if bytes.IndexByte(body, '\r') < 0 && bytes.IndexByte(body, 0) < 0 {
			// Common case: a clean line (or tail) ending in CRLF or bare LF.
			if lf >= 0 && len(body) == end-i {
				out = append(out, p[start:end]...)
				out = append(out, '\r', '\n')
				n.normalized = true
				start = end + 1
			}
			i = end + 1
			continue
		}
		stop := len(p)
		if lf >= 0 {
			stop = end + 1
		}
		out, start = n.slow(p, i, stop, out, start)
		i = stop
	}
	if len(out) == 0 && start == 0 {
		return len(p), n.flush(p)
	}
	out = append(out, p[min(start, len(p)):]...)
	n.buf = out[:0]
	if cap(n.buf) > 64<<10 {
		n.buf = nil // do not keep a huge buffer after a huge Write
	}
	if err := n.flush(out); err != nil {
		return 0, err
	}
	return len(p), nil
}

// slow normalizes p[i:stop] byte by byte: a line with a CR or NUL inside.
func (n *Normalizer) slow(p []byte, i, stop int, out []byte, start int) ([]byte, int) {
	for ; i < stop; i++ {
		switch p[i] {
		case '\r':
			if i+1 == len(p) {
				out = append(out, p[start:i]...)
				n.pendingCR = true
				start = len(p)
			} else if p[i+1] == '\n' {
				i++ // CRLF stays as it is
			} else {
				out = append(out, p[start:i+1]...)
				out = append(out, '\n')
				n.normalized = true
				start = i + 1
			}
		case '\n':
			out = append(out, p[start:i]...)
			out = append(out, '\r', '\n')
			n.normalized = true
			start = i + 1
		case 0:
			out = append(out, p[start:i]...)
			n.nul++
			start = i + 1
		}
	}
	return out, start
}

func (n *Normalizer) flush(out []byte) error {
	if len(out) == 0 {
		return nil
	}
	n.size += int64(len(out))
	if _, err := n.W.Write(out); err != nil {
		n.err = err
		return err
	}
	return nil
}

// Close writes a CR left pending by the last Write as CRLF.
func (n *Normalizer) Close() error {
	if n.err != nil {
		return n.err
	}
	if n.pendingCR {
		n.pendingCR = false
		n.normalized = true
		return n.flush(crlfBytes)
	}
	return nil
}

// Size returns the bytes written to W.
func (n *Normalizer) Size() int64 { return n.size }

// Nul returns the number of NUL bytes dropped.
func (n *Normalizer) Nul() int { return n.nul }

// Normalized reports whether a bare CR or bare LF was rewritten as CRLF.
func (n *Normalizer) Normalized() bool { return n.normalized }
