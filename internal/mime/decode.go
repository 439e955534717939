package mime

import (
	"bytes"
	"io"
	"mime"
	"strings"
	"unicode/utf8"

	"github.com/emersion/go-message/charset"
)

// DecodeTransfer undoes a Content-Transfer-Encoding (RFC 2045 section 6),
// cte in lower case as Part.Encoding gives it: base64 and
// quoted-printable are decoded leniently, "", 7bit, 8bit and binary give
// b itself. ok is false for an encoding it does not know.
func DecodeTransfer(cte string, b []byte) (data []byte, ok bool) {
	switch cte {
	case "", "7bit", "8bit", "binary":
		return b, true
	case "base64":
		return decodeBase64(b), true
	case "quoted-printable":
		return decodeQP(b), true
	}
	return nil, false
}

// b64 maps base64 characters to their values, others to 0xFF.
var b64 = func() (t [256]byte) {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	for i := range t {
		t[i] = 0xFF
	}
	for i := 0; i < len(alphabet); i++ {
		t[alphabet[i]] = byte(i)
	}
	return t
}()

// decodeBase64 decodes base64 leniently (RFC 2045 6.8): characters outside
// the alphabet are ignored, decoding stops at the first '=', and a
// trailing incomplete group yields the whole bytes it holds.
func decodeBase64(b []byte) []byte {
	out := make([]byte, 0, len(b)/4*3+3)
	var acc uint32
	n := 0
	for _, c := range b {
		if c == '=' {
			break
		}
		v := b64[c]
		if v == 0xFF {
			continue
		}
		acc = acc<<6 | uint32(v)
		if n++; n == 4 {
			out = append(out, byte(acc>>16), byte(acc>>8), byte(acc))
			acc, n = 0, 0
		}
	}
	switch n {
	case 2:
		out = append(out, byte(acc>>4))
	case 3:
		out = append(out, byte(acc>>10), byte(acc>>2))
	}
	return out
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}

// decodeQP decodes quoted-printable leniently (RFC 2045 6.7): "=XX" in
// either case is an octet, "=" at the end of a line a soft line break,
// blanks at the end of a line are dropped, and a malformed "=" is kept.
func decodeQP(b []byte) []byte {
	out := make([]byte, 0, len(b))
	for len(b) > 0 {
		var line []byte
		eol := []byte(nil)
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			line, b = b[:i], b[i+1:]
			eol = []byte("\n")
			if len(line) > 0 && line[len(line)-1] == '\r' {
				line = line[:len(line)-1]
				eol = []byte("\r\n")
			}
		} else {
			line, b = b, nil
		}
		line = bytes.TrimRight(line, " \t")
		if len(line) > 0 && line[len(line)-1] == '=' {
			line, eol = line[:len(line)-1], nil
		}
		out = appendUnescaped(out, line, '=')
		out = append(out, eol...)
	}
	return out
}

// ToUTF8 converts b from the named charset to UTF-8 with go-message's
// charset tables; b is returned as is for UTF-8, US-ASCII, an unknown
// charset or a conversion error. The output is bounded by 4 times the
// input.
func ToUTF8(cs string, b []byte) []byte {
	switch strings.ToLower(cs) {
	case "", "utf-8", "utf8", "us-ascii", "ascii":
		return b
	}
	r, err := charset.Reader(cs, bytes.NewReader(b))
	if err != nil {
		return b
	}
	out, err := io.ReadAll(io.LimitReader(r, int64(len(b))*4+16))
	if err != nil {
		return b
	}
	return out
}

// wordDecoder decodes RFC 2047 encoded-words with go-message's charsets.
var wordDecoder = &mime.WordDecoder{
	CharsetReader: func(cs string, r io.Reader) (io.Reader, error) { return charset.Reader(cs, r) },
}

// DecodeHeader decodes the RFC 2047 encoded-words of a header value;
// what cannot be decoded is kept as is. The result is valid UTF-8 unless
// s had raw 8-bit bytes that are not UTF-8.
func DecodeHeader(s string) string {
	if !strings.Contains(s, "=?") {
		return s
	}
	d, err := wordDecoder.DecodeHeader(s)
	if err != nil {
		return s
	}
	if !utf8.ValidString(d) && utf8.ValidString(s) {
		return s
	}
	return d
}

// appendUnescaped appends src to dst with every marker followed by two hex
// digits (quoted-printable "=41", RFC 2231 "%41") decoded; a marker not
// followed by two hex digits is kept as it is.
func appendUnescaped(dst, src []byte, marker byte) []byte {
	for i := 0; i < len(src); i++ {
		c := src[i]
		if c == marker && i+2 < len(src) {
			if hi, ok := unhex(src[i+1]); ok {
				if lo, ok := unhex(src[i+2]); ok {
					dst = append(dst, hi<<4|lo)
					i += 2
					continue
				}
			}
		}
		dst = append(dst, c)
	}
	return dst
}
