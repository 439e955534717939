package imapmsg

import (
	"strings"

	"mailwarden/internal/mime"
)

// Message is one stored message as internal/mime parses it: raw bytes
// plus a lazily built MIME tree. Parse never fails; a Message is safe for
// concurrent use.
type Message mime.Message

// Parse returns the Message of raw, which it keeps (not copied): the
// caller must not modify raw afterwards. Nothing is parsed until needed.
func Parse(raw []byte) *Message { return (*Message)(mime.Parse(raw)) }

// MIME returns the message as internal/mime's Message (the same value).
func (m *Message) MIME() *mime.Message { return (*mime.Message)(m) }

// Size is the size of the message in octets (RFC822.SIZE).
func (m *Message) Size() int64 { return m.MIME().Size() }

func (m *Message) raw() []byte { return m.MIME().Bytes() }

// header returns the top-level header; the envelope and the search
// helpers need no more.
func (m *Message) header() *mime.Header { return m.MIME().Header() }

// tree returns the root entity of the MIME tree.
func (m *Message) tree() *mime.Part { return m.MIME().Root() }

// messageParts returns the numbered parts of a message entity (RFC 9051 6.4.5):
// the parts of a multipart, else the entity itself as part 1.
func messageParts(p *mime.Part, one *[1]*mime.Part) []*mime.Part {
	if p.IsMultipart() {
		return p.Parts()
	}
	one[0] = p
	return one[:]
}

// find returns the entity numbered path, or nil. Part N of a multipart is
// its Nth child; the parts of a message/rfc822 entity are those of the
// message it holds; a non-multipart message has only part 1, its body.
func (m *Message) find(path []uint32) *mime.Part {
	var one [1]*mime.Part
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
		case cur.IsMultipart():
			parts = cur.Parts()
		case cur.Message() != nil:
			parts = messageParts(cur.Message(), &one)
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
			return m.raw(), true
		case "MIME":
			return nil, false
		case "HEADER":
			return m.raw()[:m.MIME().BodyOffset()], true
		case "TEXT":
			return m.raw()[m.MIME().BodyOffset():], true
		}
		return fieldsSubset(m.header(), fields, spec == "HEADER.FIELDS.NOT"), true
	}
	p := m.find(part)
	if p == nil {
		return []byte{}, true
	}
	raw := m.raw()
	switch spec {
	case "":
		return p.Content(), true
	case "MIME":
		start, body, _ := p.Offsets()
		return raw[start:body], true
	}
	msg := p.Message()
	if msg == nil {
		return []byte{}, true
	}
	start, body, end := msg.Offsets()
	switch spec {
	case "HEADER":
		return raw[start:body], true
	case "TEXT":
		return raw[body:end], true
	}
	return fieldsSubset(msg.Header(), fields, spec == "HEADER.FIELDS.NOT"), true
}

// Binary returns the content of BINARY[part] (RFC 3516): the part's
// content with its Content-Transfer-Encoding undone (base64 and
// quoted-printable are decoded leniently; 7bit, 8bit and binary are as
// stored). An empty part is the whole message. A part that does not exist
// gives empty data; ok is false for an unknown transfer encoding, which
// the server answers with NO [UNKNOWN-CTE].
func (m *Message) Binary(part []uint32) (data []byte, ok bool) {
	if len(part) == 0 {
		return m.raw(), true
	}
	p := m.find(part)
	if p == nil {
		return []byte{}, true
	}
	return p.Decoded()
}
