package imapmsg

import (
	"bufio"
	"bytes"
	"sync"

	"mailwarden/internal/imapwire"
	"mailwarden/internal/mime"
)

// adjacent writes list elements with no space between them, as the
// grammar wants for 1*address and 1*body ("(a)(b)", RFC 9051 section 9)
// while imapwire.Writer spaces its tokens: each element is written by its
// own Writer into a buffer copied to the parent with Writer.Write.
type adjacent struct {
	parent *imapwire.Writer
	buf    bytes.Buffer
	bw     *bufio.Writer
}

var adjacentPool = sync.Pool{New: func() any {
	a := &adjacent{}
	a.bw = bufio.NewWriterSize(&a.buf, 512)
	return a
}}

func newAdjacent(parent *imapwire.Writer) *adjacent {
	a := adjacentPool.Get().(*adjacent)
	a.parent = parent
	return a
}

// elem returns a Writer for the next element, with the parent's settings.
func (a *adjacent) elem() *imapwire.Writer {
	w := imapwire.NewWriter(a.bw)
	w.UTF8, w.MaxQuoted = a.parent.UTF8, a.parent.MaxQuoted
	return w
}

// flush copies the elements to the parent and recycles a.
func (a *adjacent) flush() {
	a.bw.Flush()
	a.parent.Write(a.buf.Bytes())
	a.parent = nil
	if a.buf.Cap() <= 64<<10 {
		a.buf.Reset()
		adjacentPool.Put(a)
	}
}

// WriteEnvelope writes the ENVELOPE of the message (RFC 9051 7.5.2): date,
// subject, from, sender, reply-to, to, cc, bcc, in-reply-to and
// message-id, NIL for absent fields; sender and reply-to default to from.
// Addresses are (name adl mailbox host), with groups as start and end
// markers. Subject and display names are decoded from RFC 2047 to UTF-8
// when w.UTF8 is set (UTF8=ACCEPT), else sent as in the message.
func (m *Message) WriteEnvelope(w *imapwire.Writer) {
	writeEnvelope(w, m.header())
}

func writeEnvelope(w *imapwire.Writer, h *mime.Header) {
	w.Open()
	date, ok := h.Get("date")
	w.NString(date, ok)
	subject, ok := h.Get("subject")
	if ok && w.UTF8 {
		subject = decodeHeader(subject)
	}
	w.NString(subject, ok)
	from := addresses(h, "from")
	writeAddresses(w, from)
	for _, name := range []string{"sender", "reply-to"} {
		if l := addresses(h, name); len(l) > 0 {
			writeAddresses(w, l)
		} else {
			writeAddresses(w, from)
		}
	}
	for _, name := range []string{"to", "cc", "bcc"} {
		writeAddresses(w, addresses(h, name))
	}
	irt, ok := h.Get("in-reply-to")
	w.NString(irt, ok)
	id, ok := h.Get("message-id")
	w.NString(id, ok)
	w.Close()
}

// addresses parses the first field named name.
func addresses(h *mime.Header, name string) []address {
	v, ok := h.Get(name)
	if !ok || v == "" {
		return nil
	}
	return parseAddressList(v)
}

// writeAddresses writes an address list, or NIL when it is empty.
func writeAddresses(w *imapwire.Writer, list []address) {
	if len(list) == 0 {
		w.NIL()
		return
	}
	w.Open()
	adj := newAdjacent(w)
	for _, a := range list {
		e := adj.elem()
		e.Open()
		switch a.kind {
		case addrGroupStart:
			name := a.mailbox
			if w.UTF8 {
				name = decodeHeader(name)
			}
			e.NIL().NIL().String(name).NIL()
		case addrGroupEnd:
			e.NIL().NIL().NIL().NIL()
		default:
			name := a.name
			if w.UTF8 {
				name = decodeHeader(name)
			}
			e.NString(name, name != "").NString(a.adl, a.adl != "").String(a.mailbox).String(a.host)
		}
		e.Close()
	}
	adj.flush()
	w.Close()
}
