package imapserver

import (
	"bytes"
	"io"
	"strings"

	"mailwarden/internal/imapmsg"
	"mailwarden/internal/imapwire"
)

// piece is the prepared value of one content fetch item.
type piece struct {
	data   []byte // bytes to send, unless stream
	stream bool   // send the file's bytes [off, off+n)
	off, n int64
	size   int64 // BINARY.SIZE
}

// clip applies a <partial> to an object of n octets (RFC 9051 6.4.5: an
// origin beyond the end gives the empty string).
func clip(n int64, p *imapwire.Partial) (off, length int64) {
	if p == nil {
		return 0, n
	}
	off = n
	if p.Offset < uint64(n) {
		off = int64(p.Offset)
	}
	length = n - off
	if p.Count < uint64(length) {
		length = int64(p.Count)
	}
	return off, length
}

func clipBytes(b []byte, p *imapwire.Partial) []byte {
	off, n := clip(int64(len(b)), p)
	return b[off : off+n]
}

// fromCache reports whether the header cache answers it: ENVELOPE, and
// HEADER.FIELDS of the message (not of a part) when all the fields named
// are cached ones.
func fromCache(it imapwire.FetchItem) bool {
	switch it.Kind {
	case imapwire.FetchEnvelope:
		return true
	case imapwire.FetchBodySection:
		sec := it.Section
		return len(sec.Part) == 0 && strings.EqualFold(sec.Specifier, "HEADER.FIELDS") && imapmsg.CachedFields(sec.Fields)
	}
	return false
}

// prepare reads what one item needs, from the header cache when it can,
// else reading no more of the file than it must.
func prepare(c *content, it imapwire.FetchItem) (piece, error) {
	sec := it.Section
	if c.cacheValid() && fromCache(it) {
		if it.Kind == imapwire.FetchEnvelope {
			return piece{}, nil
		}
		b, _ := c.cachedMessage().Section(nil, sec.Specifier, sec.Fields)
		return piece{data: clipBytes(b, it.Partial)}, nil
	}
	switch it.Kind {
	case imapwire.FetchEnvelope:
		_, err := c.headerMessage()
		return piece{}, err
	case imapwire.FetchBody, imapwire.FetchBodyStructure:
		_, err := c.message()
		return piece{}, err
	case imapwire.FetchRFC822:
		sec = imapwire.Section{}
	case imapwire.FetchRFC822Header:
		sec = imapwire.Section{Specifier: "HEADER"}
	case imapwire.FetchRFC822Text:
		sec = imapwire.Section{Specifier: "TEXT"}
	case imapwire.FetchPreview:
		// RFC 8970: made from the file each time; LAZY lets a server
		// answer NIL, but one file read is cheap enough to answer.
		m, err := c.message()
		if err != nil {
			return piece{}, err
		}
		return piece{data: []byte(m.Preview())}, nil
	case imapwire.FetchBinary, imapwire.FetchBinarySize:
		m, err := c.message()
		if err != nil {
			return piece{}, err
		}
		b, ok := m.Binary(sec.Part)
		if !ok {
			return piece{}, errUnknownCTE
		}
		return piece{data: clipBytes(b, it.Partial), size: int64(len(b))}, nil
	}
	if len(sec.Part) == 0 && c.full == nil {
		switch sec.Specifier {
		case "":
			if err := c.open(); err != nil {
				return piece{}, err
			}
			off, n := clip(c.size, it.Partial)
			return piece{stream: true, off: off, n: n}, nil
		case "TEXT":
			t, err := c.textOffset()
			if err != nil {
				return piece{}, err
			}
			off, n := clip(c.size-t, it.Partial)
			return piece{stream: true, off: t + off, n: n}, nil
		case "HEADER", "HEADER.FIELDS", "HEADER.FIELDS.NOT":
			m, err := c.headerMessage()
			if err != nil {
				return piece{}, err
			}
			b, _ := m.Section(nil, sec.Specifier, sec.Fields)
			return piece{data: clipBytes(b, it.Partial)}, nil
		}
	}
	m, err := c.message()
	if err != nil {
		return piece{}, err
	}
	b, _ := m.Section(sec.Part, sec.Specifier, sec.Fields)
	return piece{data: clipBytes(b, it.Partial)}, nil
}

// write sends the item's name and value.
func (p piece) write(w *imapwire.Writer, c *content, it imapwire.FetchItem) {
	switch it.Kind {
	case imapwire.FetchEnvelope:
		w.Atom("ENVELOPE")
		if c.cacheValid() {
			imapmsg.WriteCachedEnvelope(w, *c.row.Cache)
			return
		}
		m, _ := c.headerMessage()
		m.WriteEnvelope(w)
		return
	case imapwire.FetchBody:
		w.Atom("BODY")
		c.full.WriteBodyStructure(w, false)
		return
	case imapwire.FetchBodyStructure:
		w.Atom("BODYSTRUCTURE")
		c.full.WriteBodyStructure(w, true)
		return
	case imapwire.FetchBinarySize:
		w.Atom(it.Name).Num64(uint64(p.size))
		return
	case imapwire.FetchPreview:
		w.Atom("PREVIEW").String(string(p.data))
		return
	}
	w.Atom(it.Name)
	switch {
	case p.stream:
		w.LiteralFrom(io.NewSectionReader(c.f, p.off, p.n), p.n, false)
	case it.Kind == imapwire.FetchBinary && bytes.IndexByte(p.data, 0) >= 0:
		w.LiteralFrom(bytes.NewReader(p.data), int64(len(p.data)), true)
	default:
		w.Literal(p.data)
	}
}
