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
	// id is the first Message-ID field's value (its first line, trimmed,
	// at most maxIDLen octets), for cleanup's "message-id=" log line.
	id   []byte
	inID bool // the rest of this line is a Message-ID value
	done bool
	mid  bool // inside a line
	name [len("message-id")]byte
	nlen int // bytes of this line's field name so far; -1: settled
}

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
		if h.inID {
			seg := p
			if i >= 0 {
				seg = p[:i]
			}
			if len(seg) > 0 && seg[0] == ':' && len(h.id) == 0 {
				seg = seg[1:]
			}
			h.id = append(h.id, seg[:min(len(seg), maxIDLen-len(h.id))]...)
			if i >= 0 {
				h.inID = false
				h.id = bytes.TrimSpace(h.id)
			}
		}
		if i < 0 {
			return
		}
		p = p[i+1:]
		h.mid = false
	}
}

// maxIDLen bounds the Message-ID kept for the log.
const maxIDLen = 256

// messageID is the Message-ID for the log, with anything that could
// break the line replaced.
func (h *headerScan) messageID() string {
	b := bytes.TrimSpace(h.id)
	out := make([]byte, len(b))
	for i, c := range b {
		if c < 0x20 || c == 0x7f {
			c = '?'
		}
		out[i] = c
	}
	return string(out)
}

func (h *headerScan) field(name string) {
	switch name {
	case "received":
		h.n++
	case "date":
		h.date = true
	case "message-id":
		h.inID = !h.msgID
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
		trace = append(trace, "Message-ID: "...)
		trace = append(trace, addedMessageID(env, c.cfg.Hostname)...)
		trace = append(trace, "\r\n"...)
	}
	return trace
}

// addedMessageID is the Message-ID the server gives a submitted message
// without one: <QUEUEID.YYYYMMDDhhmmss@hostname>.
func addedMessageID(env *envelope.Envelope, hostname string) string {
	return "<" + env.ID + "." + env.Received.UTC().Format("20060102150405") + "@" + hostname + ">"
}
