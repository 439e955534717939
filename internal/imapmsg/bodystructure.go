package imapmsg

import (
	"strings"

	"mailwarden/internal/imapwire"
	"mailwarden/internal/mime"
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
	writeBody(w, m.tree(), extended)
}

// usASCII is the charset parameter of a text part without one.
var usASCII = mime.Params{{Name: "charset", Value: "US-ASCII"}}

func writeBody(w *imapwire.Writer, p *mime.Part, extended bool) {
	if p.IsMultipart() {
		writeMultipart(w, p, extended)
		return
	}
	w.Open()
	w.String(strings.ToUpper(p.Type())).String(strings.ToUpper(p.Subtype()))
	params := p.Params()
	if p.Type() == "text" {
		if _, ok := params.Get("charset"); !ok {
			params = append(usASCII[:1:1], params...)
		}
	}
	writeParams(w, params)
	h := p.Header()
	id, ok := h.Get("content-id")
	w.NString(id, ok && id != "")
	desc, ok := h.Get("content-description")
	w.NString(desc, ok && desc != "")
	enc := p.Encoding()
	if enc == "" {
		enc = "7bit"
	}
	w.String(strings.ToUpper(enc))
	content := p.Content()
	w.Num64(uint64(len(content)))
	switch {
	case p.Message() != nil:
		writeEnvelope(w, p.Message().Header())
		writeBody(w, p.Message(), extended)
		w.Num64(uint64(lines(content)))
	case p.Type() == "text":
		w.Num64(uint64(lines(content)))
	}
	if extended {
		md5, ok := h.Get("content-md5")
		w.NString(md5, ok && md5 != "")
		writeExtension(w, h)
	}
	w.Close()
}

// writeEmptyText writes the body of a multipart without parts: an empty
// TEXT PLAIN part, as the grammar wants at least one.
func writeEmptyText(w *imapwire.Writer, extended bool) {
	w.Open()
	w.String("TEXT").String("PLAIN")
	writeParams(w, usASCII)
	w.NIL().NIL().String("7BIT").Num64(0).Num64(0)
	if extended {
		w.NIL().NIL().NIL().NIL()
	}
	w.Close()
}

func writeMultipart(w *imapwire.Writer, p *mime.Part, extended bool) {
	w.Open()
	adj := newAdjacent(w)
	if len(p.Parts()) == 0 {
		writeEmptyText(adj.elem(), extended)
	}
	for _, c := range p.Parts() {
		writeBody(adj.elem(), c, extended)
	}
	adj.flush()
	w.Write([]byte{' '})
	w.String(strings.ToUpper(p.Subtype()))
	if extended {
		writeParams(w, p.Params())
		writeExtension(w, p.Header())
	}
	w.Close()
}

// writeExtension writes body-fld-dsp, body-fld-lang and body-fld-loc.
func writeExtension(w *imapwire.Writer, h *mime.Header) {
	if v, ok := h.Get("content-disposition"); ok {
		if typ, params := mime.ParseDisposition(v); typ != "" {
			w.Open().String(strings.ToUpper(typ))
			writeParams(w, params)
			w.Close()
		} else {
			w.NIL()
		}
	} else {
		w.NIL()
	}
	writeLanguage(w, h)
	loc, ok := h.Get("content-location")
	w.NString(loc, ok && loc != "")
}

// writeParams writes a parameter list, NIL when empty.
func writeParams(w *imapwire.Writer, params mime.Params) {
	if len(params) == 0 {
		w.NIL()
		return
	}
	w.Open()
	for _, p := range params {
		w.String(strings.ToUpper(p.Name)).String(p.Value)
	}
	w.Close()
}

// writeLanguage writes the Content-Language tags (RFC 3282): NIL, one
// string, or a list.
func writeLanguage(w *imapwire.Writer, h *mime.Header) {
	v, _ := h.Get("content-language")
	tags := mime.ParseLanguage(v)
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
