package mime

import (
	"bytes"
	"strings"
)

// Limits on the MIME tree built for one message: deeper or further
// content is plain text.
const (
	MaxDepth = 32    // nesting of multiparts and message/rfc822
	MaxParts = 10000 // entities in one message
)

// Part is one MIME entity: raw[start:body] is its header (with the empty
// line ending it, if any), raw[body:end] its content, raw being the
// message's bytes.
type Part struct {
	hdr              Header
	start, body, end int

	typ, sub string // lower case
	params   Params
	explicit bool   // Content-Type was present and readable
	cte      string // Content-Transfer-Encoding, lower case; "" if absent

	multipart bool    // parsed as multipart (children may still be empty)
	children  []*Part // parts of a multipart
	msg       *Part   // the message in a message/rfc822 or message/global
}

// parser builds the MIME tree of one message.
type parser struct {
	raw   []byte
	parts int
}

// entity parses the entity in raw[start:end]. A child of multipart/digest
// defaults to message/rfc822 (RFC 2046 5.1.5), others to text/plain.
//
// A body part whose first line is neither empty nor a header field has no
// header (RFC 2046 wants an empty line there; some senders omit it).
func (ps *parser) entity(start, end, depth int, digest, bodyPart bool) *Part {
	h, body := parseHeader(ps.raw, start, end)
	if bodyPart && len(h.fields) > 0 && h.fields[0].value < 0 {
		h.fields, body = nil, start
	}
	return ps.entityWith(h, start, body, end, depth, digest)
}

func (ps *parser) entityWith(h Header, start, body, end, depth int, digest bool) *Part {
	ps.parts++
	p := &Part{hdr: h, start: start, body: body, end: end}
	p.setType(digest)
	if depth >= MaxDepth || ps.parts >= MaxParts {
		if p.typ == "multipart" || isMessageType(p.typ, p.sub) {
			p.setPlain()
		}
		return p
	}
	switch {
	case p.typ == "multipart":
		b, _ := p.params.Get("boundary")
		if b == "" || len(b) > 200 {
			p.setPlain()
			return p
		}
		p.multipart = true
		p.children = ps.multipart(p, b, depth)
	case isMessageType(p.typ, p.sub):
		p.msg = ps.entity(body, end, depth+1, false, false)
	}
	return p
}

func isMessageType(typ, sub string) bool {
	return typ == "message" && (sub == "rfc822" || sub == "global")
}

// setType reads Content-Type and Content-Transfer-Encoding.
func (p *Part) setType(digest bool) {
	if v, ok := p.hdr.Get("content-transfer-encoding"); ok {
		l := lexer{s: v}
		l.skipCFWS()
		p.cte = strings.ToLower(l.token())
	}
	if v, ok := p.hdr.Get("content-type"); ok {
		if typ, sub, params, ok := ParseMediaType(v); ok {
			p.typ, p.sub, p.params, p.explicit = typ, sub, params, true
			return
		}
	}
	if digest {
		p.typ, p.sub = "message", "rfc822"
		return
	}
	p.setPlain()
}

// setPlain makes p text/plain; charset=us-ascii, the RFC 2045 default and
// the fallback for what cannot be read.
func (p *Part) setPlain() {
	p.typ, p.sub, p.explicit = "text", "plain", false
	p.params = Params{{"charset", "US-ASCII"}}
}

// multipart splits the content of p at the delimiter lines of boundary
// (RFC 2046 5.1.1): "--boundary" then optional blanks, the last one
// followed by "--". The line end before a delimiter belongs to it; the
// preamble and epilogue are dropped. Without a close delimiter the last
// part runs to the end of p.
func (ps *parser) multipart(p *Part, boundary string, depth int) []*Part {
	raw := ps.raw
	delim := []byte("--" + boundary)
	digest := p.sub == "digest"
	var kids []*Part
	partStart := -1
	for i := p.body; i < p.end; {
		k := bytes.Index(raw[i:p.end], delim)
		if k < 0 {
			break
		}
		k += i
		lineEnd := nextLine(raw, k, p.end)
		i = k + 1
		if k > p.body && raw[k-1] != '\n' {
			continue
		}
		rest := raw[k+len(delim) : lineEnd]
		closing := bytes.HasPrefix(rest, []byte("--"))
		if closing {
			rest = rest[2:]
		}
		if len(bytes.Trim(rest, " \t\r\n")) != 0 {
			continue
		}
		if partStart >= 0 {
			kids = ps.add(kids, partStart, lineStart(raw, partStart, k), depth, digest)
		}
		if closing || ps.parts >= MaxParts {
			return kids
		}
		partStart = lineEnd
		i = lineEnd
	}
	if partStart >= 0 {
		kids = ps.add(kids, partStart, p.end, depth, digest)
	}
	return kids
}

func (ps *parser) add(kids []*Part, start, end, depth int, digest bool) []*Part {
	if ps.parts >= MaxParts {
		return kids
	}
	return append(kids, ps.entity(start, end, depth+1, digest, true))
}

// lineStart returns the offset of the line end before the delimiter at k
// (not before min).
func lineStart(raw []byte, min, k int) int {
	if k > min && raw[k-1] == '\n' {
		k--
		if k > min && raw[k-1] == '\r' {
			k--
		}
	}
	return k
}
