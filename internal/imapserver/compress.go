package imapserver

import (
	"bufio"
	"bytes"
	"compress/flate"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"

	"mailwarden/internal/imapwire"
)

// COMPRESS=DEFLATE (RFC 4978): after the tagged OK both directions are
// raw deflate streams (RFC 1951), inside TLS when TLS is on (RFC 4978 3:
// compress first, then encrypt).
//
// Reading (inflate.go): what the client sent is handed to the command
// reader as soon as it is decoded, whether the client ended its command
// with a sync flush or, as mbsync does, a partial flush, so the session
// never waits for input while a whole command sits decoded. The session
// flushes its output whenever no decoded input is left (next), so it
// never waits for the client with answers unsent.
//
// Writing: a compressor costs about 1 MB, so compressors are pooled. A
// session takes one at the first byte of a burst of responses and gives
// it back at the burst's end, after a sync flush: byte-aligned, so the
// next compressor continues the same stream. An idle session holds only
// its inflater (the client's window, up to 32 KB, grown as the client
// sends) and the inflater's 4 KB input buffer; its read and write
// buffers are parked as any idle session's (iobuf.go).

// deflaters are the compressors shared by all compressed sessions, each
// with a buffer for its output: compress/flate writes every 240 bytes or
// so, which would be a TLS record and a system call each.
var deflaters = sync.Pool{New: func() any {
	d := &pooledDeflater{bw: bufio.NewWriterSize(nil, 16<<10)}
	var err error
	if d.fw, err = flate.NewWriter(d.bw, flate.BestSpeed); err != nil {
		panic(err) // only for an invalid level
	}
	return d
}}

type pooledDeflater struct {
	fw *flate.Writer // writes into bw
	bw *bufio.Writer
}

// compressedSessions counts the sessions that turned COMPRESS on since
// the process started (tests check that a client really negotiated it).
var compressedSessions atomic.Int64

// cmdCompress serves COMPRESS (RFC 4978 3). The switch itself happens in
// exec, once the tagged OK is out.
func (s *session) cmdCompress(c *imapwire.Command) result {
	a := c.Args.(*imapwire.CompressArgs)
	switch {
	case a.Mechanism != "DEFLATE":
		return bad("Unknown compression mechanism.")
	case s.zw != nil:
		// RFC 4978 3: NO with COMPRESSIONACTIVE when the same
		// mechanism is active already.
		return fail("COMPRESSIONACTIVE", "DEFLATE is active already.")
	case s.state == stateNotAuth && !s.tls:
		// Before login only inside TLS: STARTTLS must not come after
		// COMPRESS (RFC 4978 3 orders the layers compress, then TLS).
		return bad("COMPRESS before login needs TLS.")
	}
	return result{status: "OK", text: "DEFLATE active", quiet: true}
}

// compressAllowed says whether COMPRESS=DEFLATE is offered now.
func (s *session) compressAllowed() bool {
	return s.state != stateNotAuth || s.tls
}

// startDeflate switches the session to deflate both ways, right after
// the uncompressed tagged OK of COMPRESS (RFC 4978 3: "immediately after
// the CRLF which ends the tagged OK response"). The session's buffers
// stay (imapwire and iobuf.go hold them); what is under them changes:
// the read buffer fills from the inflater, which reads the connection
// (what the client sent after its COMPRESS command may be buffered
// already: compressed data too), and the write buffer empties into the
// compressor, which Flush ends with a sync flush.
func (s *session) startDeflate() {
	if err := s.w.Flush(); err != nil {
		return
	}
	var rest []byte
	if n := s.br.Buffered(); n > 0 {
		p, _ := s.br.Peek(n)
		rest = bytes.Clone(p)
	}
	compressedSessions.Add(1)
	s.rf = inflateErrors{newInflater(bufio.NewReaderSize(io.MultiReader(bytes.NewReader(rest), s.rf), 4<<10))}
	s.br.Reset(s.rf)
	s.zw = &deflater{out: writerFunc(s.write)}
	s.bw.Reset(s.zw)
	s.w.Under = s.zw
}

// writeTarget is what the write buffer writes to: the connection, or the
// compressor.
func (s *session) writeTarget() io.Writer {
	if s.zw != nil {
		return s.zw
	}
	return writerFunc(s.write)
}

// deflater compresses a session's output. It holds a pooled compressor
// from its first Write after a Flush until the next Flush.
type deflater struct {
	out io.Writer
	z   *pooledDeflater
}

func (d *deflater) Write(p []byte) (int, error) {
	if d.z == nil {
		d.z = deflaters.Get().(*pooledDeflater)
		d.z.bw.Reset(d.out)
		d.z.fw.Reset(d.z.bw)
	}
	return d.z.fw.Write(p)
}

// Flush ends a burst of responses with a sync flush, so the client can
// decode all of it, and gives the compressor back, holding no reference
// to the session (not after an error: a broken one is left to the
// garbage collector).
func (d *deflater) Flush() error {
	z := d.z
	if z == nil {
		return nil
	}
	d.z = nil
	if err := z.fw.Flush(); err != nil {
		return err
	}
	if err := z.bw.Flush(); err != nil {
		return err
	}
	z.bw.Reset(nil)
	deflaters.Put(z)
	return nil
}

// inflateError is invalid compressed input from the client.
type inflateError struct{ err error }

func (e *inflateError) Error() string { return fmt.Sprintf("imap: COMPRESS: %v", e.err) }
func (e *inflateError) Unwrap() error { return e.err }

// inflateErrors marks the inflater's own errors so the session can log
// why it ended. The connection's errors pass unchanged (a timeout is
// still a net.Error).
type inflateErrors struct{ r io.Reader }

func (z inflateErrors) Read(p []byte) (int, error) {
	n, err := z.r.Read(p)
	if errors.Is(err, errInflate) {
		err = &inflateError{err}
	}
	return n, err
}

// isInflateError reports whether a read failed on invalid compressed data.
func isInflateError(err error) bool {
	var ie *inflateError
	return errors.As(err, &ie)
}
