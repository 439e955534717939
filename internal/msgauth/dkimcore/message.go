package dkimcore

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strings"

	"mailwarden/internal/mime"
	"mailwarden/internal/msgauth/tagvalue"
)

// MaxHeader bounds the header section read into memory; a message with
// a longer header cannot be verified or sealed.
const MaxHeader = 1 << 20

// ErrHeaderTooLarge is returned for a header longer than MaxHeader.
var ErrHeaderTooLarge = errors.New("dkim: header section too large")

// Message is a header held in memory and the rest of the message to
// stream.
type Message struct {
	Raw  []byte      // the header section, with the empty line
	Hdr  mime.Header // Raw parsed
	Body io.Reader   // the rest, not read yet
}

// ReadMessage reads the header section of r (at most MaxHeader bytes).
func ReadMessage(r io.Reader) (*Message, error) {
	br := bufio.NewReaderSize(r, 32<<10)
	var raw []byte
	for {
		line, err := br.ReadSlice('\n')
		raw = append(raw, line...)
		if len(raw) > MaxHeader {
			return nil, ErrHeaderTooLarge
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("dkim: read message: %w", err)
		}
		if len(line) == 1 || len(line) == 2 && line[0] == '\r' {
			break
		}
	}
	m := &Message{Raw: raw, Body: br}
	m.Hdr, _ = mime.ParseHeader(raw)
	return m, nil
}

// Field is one header field: its name and raw bytes.
type Field struct {
	Name string // lower case
	Raw  []byte
}

// Fields returns the valid header fields, top first, without the
// empty line that ends the header.
func (m *Message) Fields() []Field {
	out := make([]Field, 0, m.Hdr.Len())
	for i := 0; i < m.Hdr.Len(); i++ {
		if !m.Hdr.Valid(i) {
			continue
		}
		out = append(out, Field{strings.ToLower(m.Hdr.Name(i)), m.Hdr.Raw(i)})
	}
	return out
}

// Value returns the raw value of a field (after the colon), unfolded.
func Value(raw []byte) string {
	colon := bytes.IndexByte(raw, ':')
	return mime.Unfold(raw[colon+1:])
}

// HeaderHash writes the fields named in h (RFC 6376 5.4.2: each name
// takes the bottom-most instance not taken yet; a name with none left
// adds nothing) canonicalized with canon.
func HeaderHash(w io.Writer, fields []Field, h []string, canon string) {
	used := make(map[int]bool, len(h))
	for _, name := range h {
		for i := len(fields) - 1; i >= 0; i-- {
			if used[i] || fields[i].Name != name {
				continue
			}
			used[i] = true
			w.Write(CanonHeader(canon, fields[i].Raw))
			break
		}
	}
}

// SigField writes the signature field itself, b= emptied, canonicalized,
// without the final CRLF (RFC 6376 3.7).
func SigField(w io.Writer, raw []byte, canon string) {
	c := CanonHeader(canon, RemoveB(raw))
	w.Write(bytes.TrimSuffix(c, []byte("\r\n")))
}

// RemoveB returns the field raw with the value of its b= tag removed
// (RFC 6376 3.7: "the value of the b= tag (including all surrounding
// whitespace) is deleted"), everything else exactly as it was.
func RemoveB(raw []byte) []byte {
	colon := strings.IndexByte(string(raw), ':')
	if colon < 0 {
		return raw
	}
	start := colon + 1
	for start <= len(raw) {
		end := start
		for end < len(raw) && raw[end] != ';' {
			end++
		}
		spec := raw[start:end]
		eq := strings.IndexByte(string(spec), '=')
		if eq >= 0 && strings.Trim(string(spec[:eq]), " \t\r\n") == "b" {
			out := make([]byte, 0, len(raw))
			out = append(out, raw[:start+eq+1]...)
			// Keep a line end that closes the field: the canonical
			// forms are the same, and simple keeps its CRLF.
			rest := raw[end:]
			if end == len(raw) {
				trail := strings.TrimRight(string(spec[eq+1:]), "\r\n")
				rest = spec[eq+1+len(trail):]
			}
			return append(out, rest...)
		}
		start = end + 1
	}
	return raw
}

// Decode64 decodes a base64 tag value (b=, bh=, p=), folding whitespace
// removed.
func Decode64(s string) ([]byte, error) {
	return base64.StdEncoding.DecodeString(tagvalue.StripFWS(s))
}
