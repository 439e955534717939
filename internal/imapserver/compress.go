package imapserver

import (
	"bufio"
	"compress/flate"
	"io"
	"sync"

	"mailwarden/internal/imapwire"
)

// cmdCompress serves COMPRESS DEFLATE (RFC 4978): after the tagged OK,
// which is sent uncompressed, both directions are raw deflate streams
// (RFC 1951). exec switches the streams once the reply is out.
func (s *session) cmdCompress(c *imapwire.Command) result {
	a := c.Args.(*imapwire.CompressArgs)
	if a.Mechanism != "DEFLATE" {
		return bad("Unknown compression mechanism.")
	}
	if s.compressed {
		return fail("COMPRESSIONACTIVE", "Compression is already active.")
	}
	s.startDeflate = true
	return result{status: "OK", text: "DEFLATE active", quiet: true}
}

// deflateWriters are compressors shared by all compressed sessions: one
// is taken for a flush and given back after it, so that an idle session
// holds none (each costs about 1 MB). Every flush ends with a sync flush,
// byte-aligned, so a compressor reset for the next flush continues the
// same raw deflate stream.
var deflateWriters = sync.Pool{New: func() any {
	w, _ := flate.NewWriter(nil, flate.BestSpeed)
	return w
}}

// deflater compresses what a session writes, one sync-flushed run of
// deflate blocks per Write (the bufio.Writer above it writes once per
// flush, or once per full buffer).
type deflater struct{ out io.Writer }

func (d *deflater) Write(p []byte) (int, error) {
	fw := deflateWriters.Get().(*flate.Writer)
	defer deflateWriters.Put(fw)
	fw.Reset(d.out)
	if _, err := fw.Write(p); err != nil {
		return 0, err
	}
	if err := fw.Flush(); err != nil {
		return 0, err
	}
	return len(p), nil
}

// compress switches the session to deflate in both directions: the
// client's data after its COMPRESS command (some may be buffered already)
// is inflated, and responses are deflated.
func (s *session) compress() {
	s.startDeflate = false
	s.compressed = true
	s.w.Flush()
	in := flate.NewReader(s.br)
	utf8 := s.w.UTF8
	s.br = bufio.NewReaderSize(in, 4<<10)
	s.w = imapwire.NewWriter(bufio.NewWriterSize(&deflater{out: writerFunc(s.write)}, 16<<10))
	s.w.UTF8 = utf8
	s.rd = imapwire.NewReader(s.br, s.w, s.cfg.IMAP.MaxLineLength, s.appendLimit())
	s.rd.CheckAppend = s.checkAppend
}
