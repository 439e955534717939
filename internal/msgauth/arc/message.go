package arc

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"mailwarden/internal/mime"
)

// MaxHeader bounds the header section read into memory; a message with
// a longer header cannot be verified or sealed.
const MaxHeader = 1 << 20

// ErrHeaderTooLarge is returned for a header longer than MaxHeader.
var ErrHeaderTooLarge = errors.New("arc: header section too large")

// message is a header held in memory and the rest of the message to
// stream.
type message struct {
	raw  []byte
	hdr  mime.Header
	body io.Reader
}

func readMessage(r io.Reader) (*message, error) {
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
			return nil, fmt.Errorf("arc: read message: %w", err)
		}
		if len(line) == 1 || len(line) == 2 && line[0] == '\r' {
			break
		}
	}
	m := &message{raw: raw, body: br}
	m.hdr, _ = mime.ParseHeader(raw)
	return m, nil
}

// field is one header field: its index in the header and raw bytes.
type field struct {
	name string // lower case
	raw  []byte
}

// fields returns the valid header fields, top first, without the
// empty line that ends the header.
func (m *message) fields() []field {
	out := make([]field, 0, m.hdr.Len())
	for i := 0; i < m.hdr.Len(); i++ {
		if !m.hdr.Valid(i) {
			continue
		}
		out = append(out, field{strings.ToLower(m.hdr.Name(i)), m.hdr.Raw(i)})
	}
	return out
}

// value returns the raw value of a field (after the colon), unfolded.
func value(raw []byte) string {
	colon := bytes.IndexByte(raw, ':')
	return mime.Unfold(raw[colon+1:])
}

// headerHash writes the fields named in h (RFC 6376 5.4.2: each name
// takes the bottom-most instance not taken yet; a name with none left
// adds nothing) canonicalized with canon.
func headerHash(w io.Writer, fields []field, h []string, canon string) {
	used := make(map[int]bool, len(h))
	for _, name := range h {
		for i := len(fields) - 1; i >= 0; i-- {
			if used[i] || fields[i].name != name {
				continue
			}
			used[i] = true
			w.Write(canonHeader(canon, fields[i].raw))
			break
		}
	}
}

// sigField writes the signature field itself, b= emptied, canonicalized,
// without the final CRLF (RFC 6376 3.7).
func sigField(w io.Writer, raw []byte, canon string) {
	c := canonHeader(canon, removeB(raw))
	w.Write(bytes.TrimSuffix(c, []byte("\r\n")))
}
