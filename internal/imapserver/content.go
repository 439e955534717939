package imapserver

import (
	"bytes"
	"io"
	"os"

	"mailwarden/internal/imapmsg"
	"mailwarden/internal/store"
)

// content is one message's file during a FETCH or SEARCH, read no further
// than needed: the header alone serves ENVELOPE, HEADER.FIELDS and the
// header search keys; the whole message is read only for MIME parts,
// BODYSTRUCTURE, BINARY and body searches; BODY[] streams from the file.
type content struct {
	f    *os.File
	size int64

	hdr    []byte           // the header with its empty line, once read
	hdrMsg *imapmsg.Message // hdr parsed alone
	full   *imapmsg.Message // the whole message, once read
}

// openContent opens the file of a message. An error means the message is
// gone (expunged by another session) or unreadable.
func (s *session) openContent(msg store.Msg) (*content, error) {
	f, err := s.srv.o.Store.OpenMessage(s.acct, s.sel.name, msg)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	return &content{f: f, size: st.Size()}, nil
}

func (c *content) close() {
	if c != nil && c.f != nil {
		c.f.Close()
	}
}

// headerEnd returns the end of the header section in b (after the first
// empty line), or -1 when b holds no empty line. It follows imapmsg's
// rule: an empty line is CRLF or a bare LF.
func headerEnd(b []byte) int {
	for i := 0; i < len(b); {
		j := bytes.IndexByte(b[i:], '\n')
		if j < 0 {
			return -1
		}
		j += i + 1
		if j-i == 1 || (j-i == 2 && b[i] == '\r') {
			return j
		}
		i = j
	}
	return -1
}

// header returns the header section, read in growing chunks.
func (c *content) header() ([]byte, error) {
	if c.hdr != nil {
		return c.hdr, nil
	}
	if c.full != nil {
		h, _ := c.full.Section(nil, "HEADER", nil)
		c.hdr = h
		return h, nil
	}
	n := int64(8 << 10)
	for {
		n = min(n, c.size)
		buf := make([]byte, n)
		if _, err := c.f.ReadAt(buf, 0); err != nil && err != io.EOF {
			return nil, err
		}
		if e := headerEnd(buf); e >= 0 {
			c.hdr = buf[:e]
			return c.hdr, nil
		}
		if n >= c.size {
			c.hdr = buf
			return c.hdr, nil
		}
		n *= 4
	}
}

// headerMessage returns the header parsed alone: enough for the envelope,
// top-level header fields and header searches.
func (c *content) headerMessage() (*imapmsg.Message, error) {
	if c.full != nil {
		return c.full, nil
	}
	if c.hdrMsg == nil {
		h, err := c.header()
		if err != nil {
			return nil, err
		}
		c.hdrMsg = imapmsg.Parse(h)
	}
	return c.hdrMsg, nil
}

// message returns the whole message parsed.
func (c *content) message() (*imapmsg.Message, error) {
	if c.full == nil {
		buf := make([]byte, c.size)
		if _, err := c.f.ReadAt(buf, 0); err != nil && err != io.EOF {
			return nil, err
		}
		c.full = imapmsg.Parse(buf)
	}
	return c.full, nil
}

// textOffset is where the top-level body starts.
func (c *content) textOffset() (int64, error) {
	h, err := c.header()
	return int64(len(h)), err
}
