package smtpwire

import "io"

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
// failed; after a failure every call returns that error.
func (n *Normalizer) Write(p []byte) (int, error) {
	if n.err != nil {
		return 0, n.err
	}
	out := n.buf[:0]
	start := 0 // first byte of the current unchanged run
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
	for ; i < len(p); i++ {
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
	out = append(out, p[start:]...)
	n.buf = out[:0]
	if cap(n.buf) > 64<<10 {
		n.buf = nil // do not keep a huge buffer after a huge Write
	}
	if err := n.flush(out); err != nil {
		return 0, err
	}
	return len(p), nil
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
