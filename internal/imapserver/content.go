package imapserver

import (
	"io"
	"os"

	"mailwarden/internal/imapmsg"
	"mailwarden/internal/store"
)

// content is one message during a FETCH or SEARCH. What the header cache
// of the index holds (row.Cache: envelope, the usual header fields) is
// answered from it; the file is opened only for the rest, and read no
// further than needed: the header alone serves ENVELOPE, HEADER.FIELDS
// and the header search keys; the whole message is read only for MIME
// parts, BODYSTRUCTURE, BINARY and body searches; BODY[] streams from
// the file.
type content struct {
	s      *session
	row    *store.Msg
	fills  *cacheFills // where to note a cache made from the file; nil: none
	f      *os.File    // once opened
	size   int64
	failed error // the file could not be opened

	cached *imapmsg.Message // the cached fields parsed, once used
	hdr    []byte           // the header with its empty line, once read
	hdrMsg *imapmsg.Message // hdr parsed alone
	full   *imapmsg.Message // the whole message, once read
}

// newContent returns the content of the message of row, opening nothing
// yet. fills, unless nil, collects header caches made from files for rows
// that were read with their cache and had none.
func (s *session) newContent(row *store.Msg, fills *cacheFills) *content {
	return &content{s: s, row: row, fills: fills}
}

// open opens the file of the message. An error means the message is
// gone (expunged by another session) or unreadable.
func (c *content) open() error {
	if c.f != nil || c.failed != nil {
		return c.failed
	}
	f, err := c.s.srv.o.Store.OpenMessage(c.s.sel.at.owner, c.s.sel.name, *c.row)
	if err == nil {
		var st os.FileInfo
		if st, err = f.Stat(); err != nil {
			f.Close()
		} else {
			c.f, c.size = f, st.Size()
		}
	}
	c.failed = err
	return err
}

func (c *content) close() {
	if c != nil && c.f != nil {
		c.f.Close()
	}
}

// cacheValid reports whether the index holds the message's header cache.
func (c *content) cacheValid() bool { return c.row.Cache != nil && c.row.Cache.Valid }

// cachedMessage returns the cached header fields as a message: it
// answers the envelope, HEADER.FIELDS of cached names and header searches
// on them (imapmsg.FromCache). Only when cacheValid.
func (c *content) cachedMessage() *imapmsg.Message {
	if c.cached == nil {
		c.cached = imapmsg.FromCache(*c.row.Cache)
	}
	return c.cached
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
	if err := c.open(); err != nil {
		return nil, err
	}
	n := int64(8 << 10)
	for {
		n = min(n, c.size)
		buf := make([]byte, n)
		if _, err := c.f.ReadAt(buf, 0); err != nil && err != io.EOF {
			return nil, err
		}
		if e := imapmsg.HeaderEnd(buf); e >= 0 {
			c.hdr = buf[:e]
			break
		}
		if n >= c.size {
			c.hdr = buf
			break
		}
		n *= 4
	}
	c.noteCache()
	return c.hdr, nil
}

// noteCache makes the header cache from the header just read, for a
// message whose row was read with its cache and had none. The response
// being made still comes from the file.
func (c *content) noteCache() {
	if c.fills != nil && c.row.Cache == nil {
		c.fills.add(c.row.UID, imapmsg.NewCache(c.hdr, int64(len(c.hdr)) == c.size))
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
		if err := c.open(); err != nil {
			return nil, err
		}
		buf := make([]byte, c.size)
		if _, err := c.f.ReadAt(buf, 0); err != nil && err != io.EOF {
			return nil, err
		}
		c.full = imapmsg.Parse(buf)
		if c.hdr == nil {
			c.hdr, _ = c.full.Section(nil, "HEADER", nil)
			c.noteCache()
		}
	}
	return c.full, nil
}

// textOffset is where the top-level body starts.
func (c *content) textOffset() (int64, error) {
	h, err := c.header()
	return int64(len(h)), err
}

// fillBatch is how many caches made from files are written at once.
const fillBatch = 512

// cacheFills collects the header caches a command made from files, for
// messages indexed without one, and writes them to the index in batches
// (best effort: a failure only means the files are read again next time).
type cacheFills struct {
	s     *session
	fills []store.CacheFill
}

func (f *cacheFills) add(uid int64, c imapmsg.Cache) {
	f.fills = append(f.fills, store.CacheFill{UID: uid, Cache: c})
	if len(f.fills) >= fillBatch {
		f.flush()
	}
}

// flush writes what was collected.
func (f *cacheFills) flush() {
	if f == nil || len(f.fills) == 0 {
		return
	}
	if err := f.s.srv.o.Store.FillCache(f.s.ctx, f.s.sel.at.owner, f.s.sel.name, f.fills); err != nil {
		f.s.logError("cache", err)
	}
	clear(f.fills)
	f.fills = f.fills[:0]
}
