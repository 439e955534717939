package imapserver

import (
	"bufio"
	"io"
	"sync"
)

// An idle session holds no I/O buffer: while it waits for the client
// (between commands, in IDLE) its 16 KB read buffer and its 32 KB write
// buffer go back to pools shared by all sessions, and it waits by
// reading one byte from the connection (TLS keeps the rest of a record
// in its own small buffer). Hundreds of idle connections then cost their
// session state, not their buffers.
//
// The session's *bufio.Reader and *bufio.Writer stay the same objects,
// which imapwire holds: parking moves their contents (buffer included)
// into a pooled object and leaves them zero; unparking moves a pooled
// one back. Nothing may read or write through them while parked.

var (
	readBufs  = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 16<<10) }}
	writeBufs = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, 32<<10) }}
)

// parkReader gives the read buffer back; the caller has checked that it
// holds nothing (br.Buffered() == 0).
func (s *session) parkReader() {
	if s.readParked {
		return
	}
	b := new(bufio.Reader)
	*b = *s.br
	b.Reset(nil)
	readBufs.Put(b)
	*s.br = bufio.Reader{}
	s.readParked = true
}

// unparkReader takes a read buffer, with first (the byte the wait read,
// if n is 1) ahead of the connection's data.
func (s *session) unparkReader(first byte, n int) {
	if !s.readParked {
		return
	}
	b := readBufs.Get().(*bufio.Reader)
	var r io.Reader = s.rf
	if n > 0 {
		r = &prefixReader{b: first, r: s.rf}
	}
	b.Reset(r)
	*s.br = *b
	s.readParked = false
}

// parkWriter gives the write buffer back; the caller flushed it.
func (s *session) parkWriter() {
	if s.writeParked || s.bw.Buffered() > 0 {
		return
	}
	b := new(bufio.Writer)
	*b = *s.bw
	b.Reset(nil)
	writeBufs.Put(b)
	*s.bw = bufio.Writer{}
	s.writeParked = true
}

func (s *session) unparkWriter() {
	if !s.writeParked {
		return
	}
	b := writeBufs.Get().(*bufio.Writer)
	b.Reset(s.writeTarget())
	*s.bw = *b
	s.writeParked = false
}

// awaitInput waits for the client's next byte without a read buffer:
// the read buffer is parked, one byte is read from the connection, and
// the buffer comes back with that byte in it (or empty after an error,
// which is returned). It touches only the reader: IDLE runs it on its
// reading goroutine while the session goroutine writes.
func (s *session) awaitInput() error {
	if s.br.Buffered() > 0 {
		return nil
	}
	s.parkReader()
	var b [1]byte
	n, err := s.rf.Read(b[:])
	s.unparkReader(b[0], n)
	return err
}

// waitIdle waits for the next command with both buffers parked.
func (s *session) waitIdle() error {
	if s.br.Buffered() > 0 {
		return nil
	}
	s.parkWriter()
	err := s.awaitInput()
	s.unparkWriter()
	return err
}

// prefixReader reads one byte, then r.
type prefixReader struct {
	b    byte
	done bool
	r    io.Reader
}

func (p *prefixReader) Read(q []byte) (int, error) {
	if !p.done {
		if len(q) == 0 {
			return 0, nil
		}
		q[0], p.done = p.b, true
		return 1, nil
	}
	return p.r.Read(q)
}
