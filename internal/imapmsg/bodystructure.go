package imapmsg

import (
	"strings"

	"mailwarden/internal/imapwire"
)

// WriteBodyStructure writes the BODY (extended false) or BODYSTRUCTURE
// (extended true) of the message, RFC 9051 7.5.2 and section 9:
//
//   - a single part: type subtype (params) id description encoding size,
//     then lines for text/*, or envelope, body and lines for
//     message/rfc822 and message/global; extension data (md5,
//     disposition, language, location) when extended;
//   - a multipart: its parts, the subtype, then when extended its
//     parameters, disposition, language and location.
//
// Type, subtype, encoding and parameter names are in upper case as in the
// RFC examples; parameter values are as in the message, RFC 2231
// continuations joined. A text part without charset gets
// CHARSET US-ASCII, a part without readable Content-Type is TEXT PLAIN.
// Sizes are octets of the content as stored; lines count its LFs plus an
// unterminated last line. A multipart without parts is written with one
// empty TEXT PLAIN part, as the grammar wants at least one.
func (m *Message) WriteBodyStructure(w *imapwire.Writer, extended bool) {
	writeBody(w, m.raw, m.tree(), extended)
}

func writeBody(w *imapwire.Writer, raw []byte, p *part, extended bool) {
	if p.multipart {
		writeMultipart(w, raw, p, extended)
		return
	}
	w.Open()
	w.String(strings.ToUpper(p.typ)).String(strings.ToUpper(p.sub))
	params := p.params
	if p.typ == "text" {
		if _, ok := paramValue(params, "charset"); !ok {
			params = append([]param{{"charset", "US-ASCII"}}, params...)
		}
	}
	writeParams(w, params)
	id, ok := p.hdr.get("content-id")
	w.NString(id, ok && id != "")
	desc, ok := p.hdr.get("content-description")
	w.NString(desc, ok && desc != "")
	enc := p.cte
	if enc == "" {
		enc = "7bit"
	}
	w.String(strings.ToUpper(enc))
	content := raw[p.body:p.end]
	w.Num64(uint64(len(content)))
	switch {
	case p.msg != nil:
		writeEnvelope(w, &p.msg.hdr)
		writeBody(w, raw, p.msg, extended)
		w.Num64(uint64(lines(content)))
	case p.typ == "text":
		w.Num64(uint64(lines(content)))
	}
	if extended {
		md5, ok := p.hdr.get("content-md5")
		w.NString(md5, ok && md5 != "")
		writeExtension(w, p)
	}
	w.Close()
}

// emptyText is the body written for a multipart without parts.
var emptyText = &part{typ: "text", sub: "plain", params: []param{{"charset", "US-ASCII"}}}

func writeMultipart(w *imapwire.Writer, raw []byte, p *part, extended bool) {
	w.Open()
	adj := newAdjacent(w)
	kids := p.children
	if len(kids) == 0 {
		kids = []*part{emptyText}
	}
	for _, c := range kids {
		writeBody(adj.elem(), raw, c, extended)
	}
	adj.flush()
	w.Write([]byte{' '})
	w.String(strings.ToUpper(p.sub))
	if extended {
		writeParams(w, p.params)
		writeExtension(w, p)
	}
	w.Close()
}

// writeExtension writes body-fld-dsp, body-fld-lang and body-fld-loc.
func writeExtension(w *imapwire.Writer, p *part) {
	if v, ok := p.hdr.get("content-disposition"); ok {
		if typ, params := parseDisposition(v); typ != "" {
			w.Open().String(strings.ToUpper(typ))
			writeParams(w, params)
			w.Close()
		} else {
			w.NIL()
		}
	} else {
		w.NIL()
	}
	writeLanguage(w, p)
	loc, ok := p.hdr.get("content-location")
	w.NString(loc, ok && loc != "")
}

// writeParams writes a parameter list, NIL when empty.
func writeParams(w *imapwire.Writer, params []param) {
	if len(params) == 0 {
		w.NIL()
		return
	}
	w.Open()
	for _, p := range params {
		w.String(strings.ToUpper(p.name)).String(p.value)
	}
	w.Close()
}

// writeLanguage writes the Content-Language tags (RFC 3282): NIL, one
// string, or a list.
func writeLanguage(w *imapwire.Writer, p *part) {
	v, _ := p.hdr.get("content-language")
	var tags []string
	l := lexer{s: v}
	for l.i < len(l.s) && len(tags) < maxParams {
		l.skipCFWS()
		if t := l.token(); t != "" {
			tags = append(tags, t)
			continue
		}
		if l.i < len(l.s) {
			l.i++ // comma or garbage
		}
	}
	switch len(tags) {
	case 0:
		w.NIL()
	case 1:
		w.String(tags[0])
	default:
		w.Open()
		for _, t := range tags {
			w.String(t)
		}
		w.Close()
	}
}
