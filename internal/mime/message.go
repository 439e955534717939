package mime

import (
	"strings"
	"sync"
)

// Message is one message's raw bytes plus a lazily built MIME tree. Parse
// never fails: broken MIME (bad boundaries, missing headers, invalid
// encodings, garbage) degrades to what can be read, an unreadable part
// being text/plain. Nesting is capped at MaxDepth levels and the tree at
// MaxParts parts. A Message is safe for concurrent use.
type Message struct {
	raw []byte

	hdrOnce sync.Once
	hdr     Header
	body    int // offset of the top-level body

	treeOnce sync.Once
	root     *Part
}

// Parse returns the Message of raw, which it keeps (not copied): the
// caller must not modify raw afterwards. Nothing is parsed until needed:
// the top-level header on the first Header or Root, the tree on the
// first Root or Walk.
func Parse(raw []byte) *Message { return &Message{raw: raw} }

// Bytes returns the message as parsed. Do not modify it.
func (m *Message) Bytes() []byte { return m.raw }

// Size is the size of the message in octets.
func (m *Message) Size() int64 { return int64(len(m.raw)) }

// Header returns the top-level header; reading it parses nothing else.
// The top-level header runs to the first empty line; a line in it that is
// not a field is kept as a malformed field.
func (m *Message) Header() *Header {
	m.hdrOnce.Do(func() { m.hdr, m.body = parseHeader(m.raw, 0, len(m.raw)) })
	return &m.hdr
}

// BodyOffset is where the top-level body starts: the length of the
// header section with its empty line (len of the message when it has no
// body).
func (m *Message) BodyOffset() int {
	m.Header()
	return m.body
}

// Root returns the root entity of the MIME tree: the message itself,
// whose Header is the top-level header.
func (m *Message) Root() *Part {
	m.treeOnce.Do(func() {
		h := m.Header()
		ps := parser{raw: m.raw}
		m.root = ps.entityWith(*h, 0, m.body, len(m.raw), 0, false)
	})
	return m.root
}

// Walk calls fn for every entity of the tree in depth-first order, the
// root first, descending into the parts of multiparts and into the
// messages that message/rfc822 (and message/global) parts hold; depth is
// 0 for the root and one more for each multipart or message/rfc822 part
// above it. When fn returns false for an entity its descendants are
// skipped. There are at most MaxParts entities.
func (m *Message) Walk(fn func(p *Part, depth int) bool) {
	walk(m.Root(), 0, fn)
}

func walk(p *Part, depth int, fn func(p *Part, depth int) bool) {
	if !fn(p, depth) {
		return
	}
	for _, c := range p.children {
		walk(c, depth+1, fn)
	}
	if p.msg != nil {
		walk(p.msg, depth+1, fn)
	}
}

// Header returns the entity's header (empty for a body part without
// one).
func (p *Part) Header() *Header { return &p.hdr }

// Offsets returns where the entity is in the message's bytes: its header
// is raw[start:body] (the empty line ending it included), its content
// raw[body:end].
func (p *Part) Offsets() (start, body, end int) { return p.start, p.body, p.end }

// Content returns the content as stored, transfer encoding and all. Do
// not modify it.
func (p *Part) Content() []byte { return p.hdr.raw[p.body:p.end:p.end] }

// Type and Subtype are the media type in lower case: from a readable
// Content-Type, else text/plain (message/rfc822 in a multipart/digest,
// RFC 2046 5.1.5). A multipart without boundary, and what lies past the
// depth or part limits, is text/plain.
func (p *Part) Type() string    { return p.typ }
func (p *Part) Subtype() string { return p.sub }

// MediaType is "type/subtype" in lower case.
func (p *Part) MediaType() string { return p.typ + "/" + p.sub }

// Explicit reports whether the type came from a readable Content-Type.
func (p *Part) Explicit() bool { return p.explicit }

// Params are the Content-Type parameters (charset=US-ASCII for the
// text/plain default). Do not modify them.
func (p *Part) Params() Params { return p.params }

// Encoding is the Content-Transfer-Encoding in lower case, "" when absent.
func (p *Part) Encoding() string { return p.cte }

// IsMultipart reports whether the entity was parsed as a multipart (its
// Parts may still be empty).
func (p *Part) IsMultipart() bool { return p.multipart }

// Parts returns the parts of a multipart, in order. Do not modify it.
func (p *Part) Parts() []*Part { return p.children }

// Message returns the message a message/rfc822 or message/global entity
// holds (its root entity), else nil.
func (p *Part) Message() *Part { return p.msg }

// Disposition returns the Content-Disposition type in lower case
// ("inline", "attachment"...; "" when absent or unreadable) and its
// parameters (RFC 2183).
func (p *Part) Disposition() (typ string, params Params) {
	v, ok := p.hdr.Get("content-disposition")
	if !ok {
		return "", nil
	}
	typ, params = ParseDisposition(v)
	return strings.ToLower(typ), params
}

// Filename returns the name the sender gave the content, decoded to
// UTF-8: the Content-Disposition filename parameter (RFC 2183 2.3), else
// the Content-Type name parameter that older mailers write, each in its
// RFC 2231 form when present (continuations joined, charset decoded),
// RFC 2047 encoded-words decoded. It is "" when there is none. It is the
// sender's claim: a check must not use it as a path.
func (p *Part) Filename() string {
	if _, params := p.Disposition(); params != nil {
		if v, ok := params.Text("filename"); ok && v != "" {
			return v
		}
	}
	v, _ := p.params.Text("name")
	return v
}

// Decoded returns the content with its transfer encoding undone
// (DecodeTransfer); ok is false for an unknown encoding, data then being
// nil. The result may share memory with the message: do not modify it.
func (p *Part) Decoded() (data []byte, ok bool) {
	return DecodeTransfer(p.cte, p.Content())
}

// Text returns the content of a text/* entity as UTF-8: transfer
// decoded (kept as stored for an unknown encoding), then converted from
// its charset parameter when go-message knows the charset (kept as is
// otherwise). ok is false, and text empty, for other types.
func (p *Part) Text() (text []byte, ok bool) {
	if p.typ != "text" || p.multipart {
		return nil, false
	}
	b, known := DecodeTransfer(p.cte, p.Content())
	if !known {
		b = p.Content()
	}
	cs, _ := p.params.Get("charset")
	return ToUTF8(cs, b), true
}
