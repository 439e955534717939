package pop3server

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strconv"
	"strings"

	"mailwarden/internal/auth/login"
)

// msgArg parses a message number argument and returns its index; ok is
// false after an error reply.
func (s *session) msgArg(arg string) (int, bool) {
	arg = strings.TrimSpace(arg)
	n, err := strconv.Atoi(arg)
	switch {
	case err != nil || n < 1 || strings.HasPrefix(arg, "+"):
		s.badCommand("Invalid message number.")
		return 0, false
	case n > len(s.msgs):
		s.reply("-ERR There's no message " + strconv.Itoa(n) + ".")
		return 0, false
	case s.deleted[n-1]:
		s.reply("-ERR Message is deleted.")
		return 0, false
	}
	return n - 1, true
}

func (s *session) stat(arg string) bool {
	if arg != "" {
		s.badCommand("STAT takes no arguments.")
		return true
	}
	n, size := 0, int64(0)
	for i, m := range s.msgs {
		if !s.deleted[i] {
			n++
			size += m.Size
		}
	}
	s.reply(fmt.Sprintf("+OK %d %d", n, size))
	return true
}

// list and uidl share the shape "one message" or "all, multi-line".
func (s *session) listing(arg string, first string, value func(m Msg) string) {
	if strings.TrimSpace(arg) != "" {
		if i, ok := s.msgArg(arg); ok {
			s.reply(fmt.Sprintf("+OK %d %s", i+1, value(s.msgs[i])))
		}
		return
	}
	s.reply(first)
	for i, m := range s.msgs {
		if !s.deleted[i] {
			s.reply(strconv.Itoa(i+1) + " " + value(m))
		}
	}
	s.reply(".")
}

func (s *session) list(arg string) bool {
	n := 0
	for _, d := range s.deleted {
		if !d {
			n++
		}
	}
	s.listing(arg, fmt.Sprintf("+OK %d messages:", n), func(m Msg) string { return strconv.FormatInt(m.Size, 10) })
	return true
}

// uidl uses Dovecot's default pop3_uidl_format %08Xu%08Xv, so a UIDL never
// changes while UIDVALIDITY stays and matches what Dovecot gave clients.
func (s *session) uidl(arg string) bool {
	s.listing(arg, "+OK", func(m Msg) string { return fmt.Sprintf("%08X%08X", m.UID, s.uidValidity) })
	return true
}

func (s *session) retrCmd(arg string) bool {
	i, ok := s.msgArg(arg)
	if !ok {
		return true
	}
	if !s.send(i, -1, fmt.Sprintf("+OK %d octets", s.msgs[i].Size)) {
		return false
	}
	s.retrieved[i] = true
	s.retr.n++
	s.retr.bytes += s.msgs[i].Size
	return true
}

func (s *session) topCmd(arg string) bool {
	args := strings.Fields(arg)
	if len(args) != 2 {
		s.badCommand("TOP needs a message number and a number of lines.")
		return true
	}
	num, lines := args[0], args[1]
	k, err := strconv.Atoi(lines)
	if err != nil || k < 0 || strings.HasPrefix(lines, "+") {
		s.badCommand("TOP needs a message number and a number of lines.")
		return true
	}
	i, ok := s.msgArg(num)
	if !ok {
		return true
	}
	if !s.send(i, k, "+OK") {
		return false
	}
	s.top.n++
	s.top.bytes += s.msgs[i].Size
	return true
}

// send writes the status line and message i, with at most bodyLines lines
// of body (-1: all). Once the status line is out a failure cannot be
// reported in the protocol, so it ends the session (false).
func (s *session) send(i, bodyLines int, status string) bool {
	rc, err := s.srv.o.Store.Open(s.ctx, s.mb.Username, s.mb.Maildir, s.msgs[i])
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			s.reply("-ERR Message " + strconv.Itoa(i+1) + " was expunged by another session.")
			return true
		}
		s.srv.log.Warn(fmt.Sprintf("pop3(%s): open message uid %d: %v", login.LogSafe(s.mb.Username), s.msgs[i].UID, err))
		s.reply("-ERR [SYS/TEMP] Couldn't read the message, try again later.")
		return true
	}
	defer rc.Close()
	s.reply(status)
	if err := writeMessage(s.w, rc, bodyLines); err != nil {
		s.srv.log.Warn(fmt.Sprintf("pop3(%s): sending message uid %d: %v", login.LogSafe(s.mb.Username), s.msgs[i].UID, err))
		s.reason = "Error sending message"
		return false
	}
	return true
}

func (s *session) dele(arg string) bool {
	if i, ok := s.msgArg(arg); ok {
		s.deleted[i] = true
		s.reply("+OK Marked to be deleted.")
	}
	return true
}

func (s *session) rset(string) bool {
	clear(s.deleted)
	s.reply("+OK")
	return true
}

func (s *session) noop(string) bool {
	s.reply("+OK")
	return true
}

// update is the UPDATE state after QUIT (RFC 1939 6): retrieved messages
// that stay get \Seen, deleted ones are expunged.
func (s *session) update() {
	var del, seen []int64
	for i, m := range s.msgs {
		switch {
		case s.deleted[i]:
			del = append(del, m.UID)
		case s.retrieved[i]:
			seen = append(seen, m.UID)
		}
	}
	user := login.LogSafe(s.mb.Username)
	if len(seen) > 0 {
		if err := s.srv.o.Store.MarkSeen(s.ctx, s.mb.Username, s.mb.Maildir, seen); err != nil {
			s.srv.log.Warn("pop3(" + user + "): marking retrieved messages seen: " + err.Error())
		}
	}
	if len(del) > 0 {
		if err := s.srv.o.Store.Expunge(s.ctx, s.mb.Username, s.mb.Maildir, del); err != nil {
			s.srv.log.Warn("pop3(" + user + "): expunging deleted messages: " + err.Error())
			s.reply("-ERR [SYS/TEMP] Some deleted messages were not removed.")
			s.reason = "Logged out, expunge failed"
			return
		}
		s.expunged = len(del)
		s.reply("+OK Logging out, messages deleted.")
		return
	}
	s.reply("+OK Logging out.")
}

// writeMessage copies a message as a multi-line response (RFC 1939 3):
// every line ends in CRLF (a bare LF gets its CR), a line starting with "."
// gets another, and ".\r\n" ends it. With bodyLines >= 0 it stops after the
// header, the blank line and that many body lines (TOP).
func writeMessage(w *bufio.Writer, r io.Reader, bodyLines int) error {
	m := msgWriter{w: w, atStart: true, inHeader: true, left: bodyLines}
	buf := make([]byte, 32<<10)
	for !m.done {
		n, err := r.Read(buf)
		m.write(buf[:n])
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
	}
	if !m.atStart { // no newline at the end
		if !m.cr {
			w.WriteByte('\r')
		}
		w.WriteByte('\n')
	}
	_, err := w.WriteString(".\r\n")
	return err
}

// msgWriter is writeMessage's state between reads.
type msgWriter struct {
	w        *bufio.Writer
	atStart  bool // the next byte starts a line
	cr       bool // the line so far ends in CR
	lineLen  int
	inHeader bool
	left     int // body lines still to send; negative: all
	done     bool
}

func (m *msgWriter) write(p []byte) {
	for len(p) > 0 && !m.done {
		seg := p
		nl := bytes.IndexByte(p, '\n')
		if nl >= 0 {
			seg = p[:nl]
		}
		if len(seg) > 0 {
			if m.atStart && seg[0] == '.' {
				m.w.WriteByte('.') // RFC 1939 3 byte-stuffing
			}
			m.w.Write(seg)
			m.atStart = false
			m.lineLen += len(seg)
			m.cr = seg[len(seg)-1] == '\r'
		}
		if nl < 0 {
			return
		}
		if !m.cr {
			m.w.WriteByte('\r')
		}
		m.w.WriteByte('\n')
		m.endLine()
		p = p[nl+1:]
	}
}

func (m *msgWriter) endLine() {
	blank := m.lineLen == 0 || m.lineLen == 1 && m.cr
	m.atStart, m.cr, m.lineLen = true, false, 0
	switch {
	case m.inHeader:
		m.inHeader = !blank
	case m.left > 0:
		m.left--
	}
	m.done = !m.inHeader && m.left == 0
}
