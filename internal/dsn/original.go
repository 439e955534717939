package dsn

import (
	"bytes"
	"fmt"
	"io"
	"mime/quotedprintable"
)

const (
	// DefaultMaxOriginal is the cap on the returned original used when
	// Report.MaxOriginal is zero (Postfix's bounce_size_limit).
	DefaultMaxOriginal = 50000
	// maxHeaderBytes caps the header block returned when the original
	// is too large to return whole and its header is larger than
	// MaxOriginal itself.
	maxHeaderBytes = 1 << 20
	// maxLine is the longest line RFC 5322 allows, CRLF excluded.
	maxLine = 998
)

// part is one body part of the report.
type part struct {
	header string // header fields, each ending in CRLF
	body   []byte // CRLF line endings, ends in CRLF
	eight  bool   // body holds 8-bit data
}

// returnedPart builds the third part: the original message or its
// header block. It returns nil when there is no original.
func (r *Report) returnedPart(global bool) (*part, error) {
	if r.Original == nil {
		return nil, nil
	}
	limit := r.MaxOriginal
	if limit <= 0 {
		limit = DefaultMaxOriginal
	}
	buf, err := io.ReadAll(io.LimitReader(r.Original, limit+1))
	if err != nil {
		return nil, fmt.Errorf("dsn: reading original message: %w", err)
	}
	truncated := int64(len(buf)) > limit
	full := r.Kind == Failure && !r.ReturnHeadersOnly && !truncated
	if truncated && headerEnd(buf) < 0 {
		// The header alone is larger than the cap: read on until the
		// end of the header block or maxHeaderBytes.
		more, err := io.ReadAll(io.LimitReader(r.Original, maxHeaderBytes-int64(len(buf))))
		if err != nil {
			return nil, fmt.Errorf("dsn: reading original message: %w", err)
		}
		buf = append(buf, more...)
	}
	msg := stripFromLine(normalizeCRLF(buf))

	if full {
		if eight, ok := rawEncoding(msg); ok {
			ctype := "message/rfc822"
			if global {
				ctype = "message/global"
			}
			return &part{
				header: "Content-Description: Undelivered Message\r\n" +
					"Content-Type: " + ctype + "\r\n" +
					"Content-Transfer-Encoding: " + cte(eight) + "\r\n",
				body:  msg,
				eight: eight,
			}, nil
		}
		// Lines too long or NUL bytes: message/rfc822 cannot be
		// encoded (RFC 2046 section 5.2.1), so return the header.
	}

	hdr := headerBlock(msg, truncated)
	ctype := "text/rfc822-headers"
	if global {
		ctype = "message/global-headers"
	}
	desc := "Undelivered Message Headers"
	if r.Kind != Failure {
		desc = "Message Headers"
	}
	p := &part{header: "Content-Description: " + desc + "\r\n" + "Content-Type: " + ctype + "\r\n"}
	eight, ok := rawEncoding(hdr)
	if ok {
		p.header += "Content-Transfer-Encoding: " + cte(eight) + "\r\n"
		p.body, p.eight = hdr, eight
		return p, nil
	}
	p.header += "Content-Transfer-Encoding: quoted-printable\r\n"
	p.body = quotedPrintable(hdr)
	return p, nil
}

func cte(eight bool) string {
	if eight {
		return "8bit"
	}
	return "7bit"
}

// normalizeCRLF turns CRLF, bare LF and bare CR line endings into CRLF
// and makes sure non-empty data ends with CRLF.
func normalizeCRLF(b []byte) []byte {
	out := make([]byte, 0, len(b)+len(b)/32+2)
	for i := 0; i < len(b); i++ {
		switch c := b[i]; c {
		case '\r':
			if i+1 < len(b) && b[i+1] == '\n' {
				i++
			}
			out = append(out, '\r', '\n')
		case '\n':
			out = append(out, '\r', '\n')
		default:
			out = append(out, c)
		}
	}
	if len(out) > 0 && !bytes.HasSuffix(out, []byte("\r\n")) {
		out = append(out, '\r', '\n')
	}
	return out
}

// stripFromLine drops an mbox "From " separator line.
func stripFromLine(b []byte) []byte {
	if bytes.HasPrefix(b, []byte("From ")) {
		if i := bytes.Index(b, []byte("\r\n")); i >= 0 {
			return b[i+2:]
		}
	}
	return b
}

// headerEnd returns the offset of the blank line ending the header
// block of b (in any line-ending convention), or -1.
func headerEnd(b []byte) int {
	if len(b) > 0 && (b[0] == '\n' || b[0] == '\r') {
		return 0
	}
	best := -1
	for _, sep := range []string{"\n\n", "\n\r\n", "\r\r"} {
		if i := bytes.Index(b, []byte(sep)); i >= 0 && (best < 0 || i < best) {
			best = i
		}
	}
	return best
}

// headerBlock returns the header block of a CRLF-normalised message,
// each line ending in CRLF and without the blank separator line. When
// the message was truncated and has no complete header, the last,
// possibly partial, line is dropped.
func headerBlock(msg []byte, truncated bool) []byte {
	if bytes.HasPrefix(msg, []byte("\r\n")) {
		return nil
	}
	if i := bytes.Index(msg, []byte("\r\n\r\n")); i >= 0 {
		return msg[:i+2]
	}
	if truncated {
		// normalizeCRLF added a final CRLF that may cut a line short.
		body := msg[:len(msg)-2]
		if i := bytes.LastIndex(body, []byte("\r\n")); i >= 0 {
			return msg[:i+2]
		}
		return nil
	}
	return msg
}

// rawEncoding reports whether CRLF-normalised data can be sent as is,
// with no line over 998 octets and no NUL, and whether it holds 8-bit
// octets (so needs "8bit" rather than "7bit").
func rawEncoding(b []byte) (eight, ok bool) {
	n := 0
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch {
		case c == '\r' && i+1 < len(b) && b[i+1] == '\n':
			i++
			n = 0
			continue
		case c == 0 || c == '\r' || c == '\n':
			return eight, false
		case c >= 0x80:
			eight = true
		}
		n++
		if n > maxLine {
			return eight, false
		}
	}
	return eight, true
}

// quotedPrintable encodes CRLF-separated text as quoted-printable,
// keeping its line breaks.
func quotedPrintable(b []byte) []byte {
	var out bytes.Buffer
	w := quotedprintable.NewWriter(&out)
	w.Write(b) // writes to a bytes.Buffer cannot fail
	w.Close()
	res := normalizeCRLF(out.Bytes())
	return res
}
