package imapmsg

import (
	"strings"
	"sync"
)

// Message is one message's raw bytes plus a lazily built MIME tree. Parse
// never fails: broken MIME (bad boundaries, missing headers, invalid
// encodings, garbage) degrades to what can be read, an unreadable part
// being text/plain. Nesting is capped at 32 levels and the tree at 10000
// parts. A Message is safe for concurrent use.
type Message struct {
	raw []byte

	hdrOnce sync.Once
	hdr     header
	body    int // offset of the top-level body

	treeOnce sync.Once
	root     *part
}

// Parse returns the Message of raw, which it keeps (not copied): the
// caller must not modify raw afterwards. Nothing is parsed until needed.
func Parse(raw []byte) *Message { return &Message{raw: raw} }

// Size is the size of the message in octets (RFC822.SIZE).
func (m *Message) Size() int64 { return int64(len(m.raw)) }

// header returns the top-level header; the envelope and the search
// helpers need no more.
func (m *Message) header() *header {
	m.hdrOnce.Do(func() { m.hdr, m.body = parseHeader(m.raw, 0, len(m.raw)) })
	return &m.hdr
}

// tree returns the root entity of the MIME tree.
func (m *Message) tree() *part {
	m.treeOnce.Do(func() {
		h := m.header()
		ps := parser{raw: m.raw}
		m.root = ps.entityWith(*h, 0, m.body, len(m.raw), 0, false)
	})
	return m.root
}

// messageParts returns the numbered parts of a message entity (RFC 9051 6.4.5):
// the parts of a multipart, else the entity itself as part 1.
func messageParts(p *part, one *[1]*part) []*part {
	if p.multipart {
		return p.children
	}
	one[0] = p
	return one[:]
}

// find returns the entity numbered path, or nil. Part N of a multipart is
// its Nth child; the parts of a message/rfc822 entity are those of the
// message it holds; a non-multipart message has only part 1, its body.
func (m *Message) find(path []uint32) *part {
	var one [1]*part
	cur := m.tree()
	parts := messageParts(cur, &one)
	for i, n := range path {
		if n == 0 || uint64(n) > uint64(len(parts)) {
			return nil
		}
		cur = parts[n-1]
		if i == len(path)-1 {
			break
		}
		switch {
		case cur.multipart:
			parts = cur.children
		case cur.msg != nil:
			parts = messageParts(cur.msg, &one)
		default:
			return nil
		}
	}
	return cur
}

// Section returns the bytes of BODY[section] before any <partial>, the
// section being part numbers plus a specifier: "" (the whole message or
// part content), "HEADER", "HEADER.FIELDS", "HEADER.FIELDS.NOT", "TEXT"
// or "MIME" (specifiers match case-insensitively; fields are the field
// names of HEADER.FIELDS[.NOT]). HEADER, TEXT and HEADER.FIELDS after part
// numbers apply to the message a message/rfc822 part holds. A part that
// does not exist, or a HEADER/TEXT of a part that holds no message, gives
// empty data, as in Dovecot; ok is false only for an invalid request
// (unknown specifier, MIME without part, HEADER.FIELDS without fields).
//
// The result may share memory with the message: do not modify it.
// Header fields keep their original lines, folding included; HEADER and
// the HEADER.FIELDS results end with the empty line.
func (m *Message) Section(part []uint32, specifier string, fields []string) (data []byte, ok bool) {
	spec := strings.ToUpper(specifier)
	switch spec {
	case "", "HEADER", "TEXT", "MIME":
	case "HEADER.FIELDS", "HEADER.FIELDS.NOT":
		if len(fields) == 0 {
			return nil, false
		}
	default:
		return nil, false
	}
	if len(part) == 0 {
		switch spec {
		case "":
			return m.raw, true
		case "MIME":
			return nil, false
		case "HEADER":
			m.header()
			return m.raw[:m.body], true
		case "TEXT":
			m.header()
			return m.raw[m.body:], true
		}
		return m.header().fieldsSubset(fields, spec == "HEADER.FIELDS.NOT"), true
	}
	p := m.find(part)
	if p == nil {
		return []byte{}, true
	}
	switch spec {
	case "":
		return m.raw[p.body:p.end], true
	case "MIME":
		return m.raw[p.start:p.body], true
	}
	if p.msg == nil {
		return []byte{}, true
	}
	msg := p.msg
	switch spec {
	case "HEADER":
		return m.raw[msg.start:msg.body], true
	case "TEXT":
		return m.raw[msg.body:msg.end], true
	}
	return msg.hdr.fieldsSubset(fields, spec == "HEADER.FIELDS.NOT"), true
}

// Binary returns the content of BINARY[part] (RFC 3516): the part's
// content with its Content-Transfer-Encoding undone (base64 and
// quoted-printable are decoded leniently; 7bit, 8bit and binary are as
// stored). An empty part is the whole message. A part that does not exist
// gives empty data; ok is false for an unknown transfer encoding, which
// the server answers with NO [UNKNOWN-CTE].
func (m *Message) Binary(part []uint32) (data []byte, ok bool) {
	if len(part) == 0 {
		return m.raw, true
	}
	p := m.find(part)
	if p == nil {
		return []byte{}, true
	}
	return decodeCTE(p.cte, m.raw[p.body:p.end])
}
