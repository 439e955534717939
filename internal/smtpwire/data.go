package smtpwire

import (
	"bufio"
	"bytes"
	"errors"
	"io"
)

// ErrTooLarge is returned by DataReader, at the end of the data, when the
// message was larger than its limit.
var ErrTooLarge = errors.New("smtpwire: message too large")

// DataReader reads the message text that follows the 354 reply to DATA
// (RFC 5321 4.1.1.4, 4.5.2) and returns it with line ends normalized to
// CRLF, dot-stuffing removed and NUL bytes dropped.
//
// The rule for the end of the data, and why no byte sequence can end it
// early: the data ends at the first "<CRLF>.<CRLF>" of the raw input, where
// the first CRLF may be the one that ended the DATA command, and nowhere
// else. Concretely, a line ends at LF (CRLF or bare LF) or at a CR not
// followed by LF (bare CR); the end marker is a line whose raw bytes are
// exactly "." that both began after a real CRLF (or at the start) and ends
// with a real CRLF. The decision is taken on the raw bytes, before NULs are
// dropped and line ends normalized, so it is exactly the RFC 5321 4.1.1.4
// definition that every conforming client dot-stuffs against: if the raw
// input does not contain CRLF "." CRLF, nothing ends the data. The published
// smuggling variants (<LF>.<LF>, <CR>.<CR>, <LF>.<CRLF>, <CR>.<CRLF>,
// <CRLF>.<LF>, <CRLF>.<CR>) and variants with NUL (<CRLF>.<NUL><CRLF>) all
// lack that sequence, so their "." line is content and comes out as
// ".\r\n". Bare CR and bare LF are still accepted as line ends and written
// as CRLF (Postfix 3.9 smtpd_forbid_bare_newline=normalize), so the output
// never holds a bare CR, bare LF or NUL that a next hop could read
// differently.
//
// Dot-stuffing (RFC 5321 4.5.2): a line (after any kind of line end) that
// starts with "." loses that first dot, except the line that is just "."
// (kept as content when it is not the end marker, see above).
//
// Limits: a line longer than maxLine bytes (line end excluded, as output;
// 0 for no limit) is cut at maxLine, and when the output would exceed
// maxSize bytes (0 for no limit) nothing more is returned. In both cases the
// reader keeps reading to the end marker and Read returns ErrTooLarge (which
// wins) or ErrLineTooLong instead of io.EOF, so the caller can answer and
// stay in step with the client. Input that ends before the end marker gives
// io.ErrUnexpectedEOF.
//
// The reader consumes its bufio.Reader exactly through the CRLF of the end
// marker: pipelined commands after it stay in the bufio.Reader.
type DataReader struct {
	r       *bufio.Reader
	maxLine int
	maxSize int64

	out []byte // processed text not yet returned by Read
	off int    // read position in out

	lineStart bool // at the start of a line
	afterCRLF bool // the current line began after a real CRLF or at the start
	heldDot   bool // the line so far is a single "." not yet output
	pendingCR bool // the last chunk ended with CR: the next byte decides CRLF or bare CR
	lineLen   int  // output bytes of the current line

	size       int64
	nul        int
	normalized bool
	longLine   bool
	tooLarge   bool
	done       bool
	err        error
}

// NewDataReader returns a DataReader reading from r with the limits above.
func NewDataReader(r *bufio.Reader, maxLine int, maxSize int64) *DataReader {
	return &DataReader{r: r, maxLine: maxLine, maxSize: maxSize, lineStart: true, afterCRLF: true}
}

// Size returns the bytes of message text seen so far after normalization:
// what was returned plus what the limits dropped.
func (d *DataReader) Size() int64 { return d.size }

// Nul returns the number of NUL bytes dropped.
func (d *DataReader) Nul() int { return d.nul }

// Normalized reports whether a bare CR or bare LF was rewritten as CRLF.
func (d *DataReader) Normalized() bool { return d.normalized }

// Read implements io.Reader. When p has room for the output of a whole
// input chunk (2*r.Size()+8 bytes; io.Copy's 32 KB buffer does), the text is
// written straight into p; otherwise it goes through an internal buffer.
func (d *DataReader) Read(p []byte) (int, error) {
	if d.off < len(d.out) {
		n := copy(p, d.out[d.off:])
		d.off += n
		return n, nil
	}
	if d.done {
		return 0, d.endErr()
	}
	if d.err != nil {
		return 0, d.err
	}
	if len(p) == 0 {
		return 0, nil
	}
	room := d.room()
	if len(p) >= room {
		own := d.out
		d.out = p[:0:len(p)]
		d.fill(len(p), room)
		n := len(d.out)
		d.out, d.off = own[:0], 0
		if n == 0 {
			return 0, d.finalErr()
		}
		return n, nil
	}
	if d.out == nil {
		d.out = make([]byte, 0, 2*room)
	}
	d.out, d.off = d.out[:0], 0
	d.fill(min(len(p), cap(d.out)), room)
	if len(d.out) == 0 {
		return 0, d.finalErr()
	}
	n := copy(p, d.out)
	d.off = n
	return n, nil
}

// room is the most output one input chunk can produce: every byte may
// double (bare CR or LF to CRLF), plus a held "." and a pending CRLF.
func (d *DataReader) room() int { return 2*d.r.Size() + 8 }

func (d *DataReader) finalErr() error {
	if d.done {
		return d.endErr()
	}
	return d.err
}

// Drain reads and discards the rest of the data, through the end marker. It
// returns nil, ErrTooLarge, ErrLineTooLong or a read error.
func (d *DataReader) Drain() error {
	_, err := io.Copy(io.Discard, d)
	return err
}

func (d *DataReader) endErr() error {
	switch {
	case d.tooLarge:
		return ErrTooLarge
	case d.longLine:
		return ErrLineTooLong
	}
	return io.EOF
}

// fill processes input chunks into d.out until it holds want bytes, the
// next chunk might not fit in its capacity, the end marker is found or the
// input fails. While the size limit discards everything it keeps going, so
// it returns with output or at the end.
func (d *DataReader) fill(want, room int) {
	for !d.done && d.err == nil && (len(d.out) < want || len(d.out) == 0) && len(d.out)+room <= cap(d.out) {
		chunk, err := d.r.ReadSlice('\n')
		d.feed(chunk)
		if err != nil && err != bufio.ErrBufferFull && !d.done {
			d.err = errUnexpectedEOF(err)
		}
	}
}

// feed processes one chunk from ReadSlice: a LF can only be its last byte.
func (d *DataReader) feed(b []byte) {
	n := len(b)
	cr := -1 // position of the next CR at or after i; n when none
	for i := 0; i < n; {
		if d.pendingCR {
			d.pendingCR = false
			if b[i] == '\n' {
				i++
				d.endLine(true)
			} else {
				d.endLine(false)
			}
			if d.done {
				return
			}
			continue
		}
		if d.lineStart {
			d.lineStart = false
			if b[i] == '.' {
				d.heldDot = true
				i++
				continue
			}
		}
		if cr < i {
			if cr = bytes.IndexByte(b[i:], '\r'); cr < 0 {
				cr = n
			} else {
				cr += i
			}
		}
		stop := cr
		if stop == n && b[n-1] == '\n' {
			stop = n - 1
		}
		if z := bytes.IndexByte(b[i:stop], 0); z >= 0 {
			stop = i + z
		}
		if stop > i {
			d.emit(b[i:stop])
			if i = stop; i == n {
				return
			}
		}
		switch b[i] {
		case 0:
			d.nul++
			d.heldDot = false // the dot before it was stuffing
			i++
		case '\n':
			i++
			d.endLine(false)
		case '\r':
			switch {
			case i+1 == n:
				d.pendingCR = true
				return
			case b[i+1] == '\n':
				i += 2
				d.endLine(true)
			default:
				i++
				d.endLine(false)
			}
		}
		if d.done {
			return
		}
	}
}

var (
	crlfBytes = []byte("\r\n")
	dot       = []byte(".")
)

// endLine ends the current line with a CRLF (crlf) or a bare CR/LF.
func (d *DataReader) endLine(crlf bool) {
	if d.heldDot {
		if crlf && d.afterCRLF {
			// RFC 5321 4.1.1.4: <CRLF>.<CRLF> ends the data.
			d.heldDot = false
			d.done = true
			return
		}
		// "." next to a bare line end: content, not the end.
		d.emit(dot)
	}
	if !crlf {
		d.normalized = true
	}
	d.size += 2
	d.put(crlfBytes)
	d.lineStart, d.afterCRLF, d.lineLen = true, crlf, 0
}

// emit outputs line content, applying the line and size limits.
func (d *DataReader) emit(seg []byte) {
	d.heldDot = false
	d.size += int64(len(seg))
	d.lineLen += len(seg)
	if d.maxLine > 0 && d.lineLen > d.maxLine {
		d.longLine = true
		seg = seg[:max(0, len(seg)-(d.lineLen-d.maxLine))]
	}
	d.put(seg)
}

func (d *DataReader) put(b []byte) {
	if d.maxSize > 0 && d.size > d.maxSize {
		d.tooLarge = true
		return
	}
	d.out = append(d.out, b...)
}
