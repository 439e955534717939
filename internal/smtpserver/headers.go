package smtpserver

import (
	"bytes"

	"mailwarden/internal/envelope"
)

// headerScan looks at the field names of a message header as it streams
// past, until the empty line that ends the header; the body is never
// scanned. It counts Received fields (loop detection) and notes Date and
// Message-ID (submission adds them when missing).
type headerScan struct {
	n     int // Received fields
	date  bool
	msgID bool
	done  bool
	mid   bool // inside a line
	name  [len("message-id")]byte
	nlen  int // bytes of this line's field name so far; -1: settled
}

// hopCounter is the name the loop check knows the scanner by.
type hopCounter = headerScan

func (h *headerScan) feed(p []byte) {
	for len(p) > 0 {
		if !h.mid {
			if p[0] == '\r' || p[0] == '\n' {
				h.done = true
				return
			}
			h.mid, h.nlen = true, 0
		}
		for h.nlen >= 0 && len(p) > 0 {
			c := p[0]
			if c == ':' {
				h.field(string(h.name[:h.nlen]))
				h.nlen = -1
				break
			}
			if h.nlen == len(h.name) || c <= ' ' || c >= 0x7f {
				h.nlen = -1 // not a name we look for, or a folded line
				break
			}
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			h.name[h.nlen] = c
			h.nlen++
			p = p[1:]
		}
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			return
		}
		p = p[i+1:]
		h.mid = false
	}
}

func (h *headerScan) field(name string) {
	switch name {
	case "received":
		h.n++
	case "date":
		h.date = true
	case "message-id":
		h.msgID = true
	}
}

// addMissing appends the Date and Message-ID fields a submitted message
// lacks (RFC 6409 8.2, 8.3) to the trace that is prepended to it, as
// Postfix's cleanup does for submission. The Message-ID is
// <QUEUEID.YYYYMMDDhhmmss@hostname>, unique as the queue id is.
func (c *conn) addMissing(trace []byte, env *envelope.Envelope, h *headerScan) []byte {
	if !h.date {
		trace = append(trace, "Date: "...)
		trace = env.Received.AppendFormat(trace, "Mon, 2 Jan 2006 15:04:05 -0700 (MST)")
		trace = append(trace, "\r\n"...)
	}
	if !h.msgID {
		trace = append(trace, "Message-ID: <"...)
		trace = append(trace, env.ID...)
		trace = append(trace, '.')
		trace = env.Received.UTC().AppendFormat(trace, "20060102150405")
		trace = append(trace, '@')
		trace = append(trace, c.cfg.Hostname...)
		trace = append(trace, ">\r\n"...)
	}
	return trace
}
