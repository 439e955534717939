package main

import (
	"bufio"
	"bytes"
	"io"
	"mime"
	"net/mail"
	"strings"

	"mailwarden/internal/envelope"
)

// addrList returns the addresses of a header value or command-line
// argument. It accepts RFC 5322 lists (with display names, groups and any
// charset in encoded words) and, failing that, plain comma-separated
// addresses, bare names included ("root").
func addrList(s string) []string {
	if strings.TrimSpace(s) == "" {
		return nil
	}
	p := mail.AddressParser{WordDecoder: &mime.WordDecoder{CharsetReader: func(_ string, r io.Reader) (io.Reader, error) { return r, nil }}}
	var out []string
	if l, err := p.ParseList(s); err == nil {
		for _, a := range l {
			out = append(out, a.Address)
		}
		return out
	}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if i := strings.LastIndexByte(part, '<'); i >= 0 {
			if j := strings.IndexByte(part[i:], '>'); j > 0 {
				part = part[i+1 : i+j]
			}
		}
		if i := strings.IndexByte(part, ':'); i >= 0 && !strings.Contains(part[:i], "@") {
			part = part[i+1:] // group name
		}
		if part = strings.TrimSpace(strings.TrimSuffix(part, ";")); part != "" {
			out = append(out, part)
		}
	}
	return out
}

// msgHeader is what readMessage learned from the header.
type msgHeader struct {
	date, msgID, from bool
	rcpts             []string // To, Cc, Bcc
	resent            []string // Resent-To, Resent-Cc, Resent-Bcc
	eightBit          bool
}

// readMessage copies the message from r to sp with CRLF line ends, without
// Bcc and Resent-Bcc fields and without a leading mbox "From " line. Unless
// dotOK, a line of a single "." ends the message.
func readMessage(r io.Reader, sp *envelope.Spool, dotOK bool) (*msgHeader, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	h := &msgHeader{}
	var field []byte // the current header field, continuation lines included
	inHeader, first := true, true
	flush := func() error {
		if field == nil {
			return nil
		}
		name, value, _ := bytes.Cut(field, []byte(":"))
		keep := true
		switch strings.ToLower(string(name)) {
		case "date":
			h.date = true
		case "message-id":
			h.msgID = true
		case "from":
			h.from = true
		case "to", "cc":
			h.rcpts = append(h.rcpts, addrList(unfold(value))...)
		case "bcc":
			h.rcpts = append(h.rcpts, addrList(unfold(value))...)
			keep = false
		case "resent-to", "resent-cc":
			h.resent = append(h.resent, addrList(unfold(value))...)
		case "resent-bcc":
			h.resent = append(h.resent, addrList(unfold(value))...)
			keep = false
		}
		var err error
		if keep {
			_, err = sp.Write(field)
		}
		field = nil
		return err
	}
	for {
		line, rerr := br.ReadBytes('\n')
		if rerr != nil && rerr != io.EOF {
			return nil, rerr
		}
		if len(line) == 0 && rerr == io.EOF {
			break
		}
		line = bytes.TrimSuffix(bytes.TrimSuffix(line, []byte("\n")), []byte("\r"))
		if !dotOK && len(line) == 1 && line[0] == '.' {
			break
		}
		for _, b := range line {
			if b >= 0x80 {
				h.eightBit = true
				break
			}
		}
		if first && bytes.HasPrefix(line, []byte("From ")) {
			first = false
			continue // mbox separator
		}
		first = false
		line = append(line, '\r', '\n')
		if inHeader {
			switch {
			case field != nil && (line[0] == ' ' || line[0] == '\t'):
				field = append(field, line...)
				continue
			case isFieldStart(line):
				if err := flush(); err != nil {
					return nil, err
				}
				field = append([]byte(nil), line...)
				continue
			}
			if err := flush(); err != nil {
				return nil, err
			}
			inHeader = false
			if len(line) > 2 { // the body starts without an empty line: add one
				if _, err := sp.Write([]byte("\r\n")); err != nil {
					return nil, err
				}
			}
		}
		if _, err := sp.Write(line); err != nil {
			return nil, err
		}
		if rerr == io.EOF {
			break
		}
	}
	if err := flush(); err != nil {
		return nil, err
	}
	return h, nil
}

// isFieldStart reports whether line begins a header field ("Name:").
func isFieldStart(line []byte) bool {
	i := bytes.IndexByte(line, ':')
	if i <= 0 {
		return false
	}
	for _, b := range line[:i] {
		if b <= ' ' || b > '~' {
			return false
		}
	}
	return true
}

func unfold(v []byte) string {
	return strings.NewReplacer("\r\n", "", "\n", "").Replace(string(v))
}
