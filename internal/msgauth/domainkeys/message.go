package domainkeys

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net/mail"
	"strings"

	"mailwarden/internal/mime"
)

// MaxHeader bounds the header read into memory.
const MaxHeader = 1 << 20

// ErrHeaderTooLarge is returned for a header longer than MaxHeader.
var ErrHeaderTooLarge = errors.New("domainkeys: header section too large")

type field struct {
	name string // lower case
	raw  []byte
}

// readHeader reads the header fields (top first) and leaves the body
// to stream.
func readHeader(r io.Reader) ([]field, io.Reader, error) {
	br := bufio.NewReaderSize(r, 32<<10)
	var raw []byte
	for {
		line, err := br.ReadSlice('\n')
		raw = append(raw, line...)
		if len(raw) > MaxHeader {
			return nil, nil, ErrHeaderTooLarge
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, nil, fmt.Errorf("domainkeys: read message: %w", err)
		}
		if len(line) == 1 || len(line) == 2 && line[0] == '\r' {
			break
		}
	}
	h, _ := mime.ParseHeader(raw)
	fields := make([]field, 0, h.Len())
	for i := 0; i < h.Len(); i++ {
		if h.Valid(i) {
			fields = append(fields, field{strings.ToLower(h.Name(i)), h.Raw(i)})
		}
	}
	return fields, br, nil
}

// sender returns the address of the Sender field if there is one among
// fields, else of From (RFC 4870 3.3, "the sending address"), and which
// header it came from.
func sender(fields []field) (addr, header string, err error) {
	for _, name := range []string{"sender", "from"} {
		for _, f := range fields {
			if f.name != name {
				continue
			}
			_, v, _ := strings.Cut(string(f.raw), ":")
			list, err := (&mail.AddressParser{}).ParseList(mime.Unfold([]byte(v)))
			if err != nil || len(list) == 0 {
				return "", name, fmt.Errorf("%s: no address", name)
			}
			return list[0].Address, name, nil
		}
	}
	return "", "", errors.New("no Sender or From field")
}
