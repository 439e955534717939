package pickup

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"
)

// Reply is one SMTP reply; a multi-line reply's texts are joined by "; ".
type Reply struct {
	Code     int
	Enhanced string // "5.1.1", "" when the server sent none
	Text     string
}

func (r Reply) String() string {
	if r.Enhanced == "" {
		return strconv.Itoa(r.Code) + " " + r.Text
	}
	return strconv.Itoa(r.Code) + " " + r.Enhanced + " " + r.Text
}

// Temporary reports a 4xx reply.
func (r Reply) Temporary() bool { return r.Code >= 400 && r.Code < 500 }

// Permanent reports a 5xx reply.
func (r Reply) Permanent() bool { return r.Code >= 500 }

// ReplyError is a reply that ended the transaction before DATA: at the
// greeting, EHLO or MAIL, or the final reply to DATA.
type ReplyError struct {
	Stage string // "greeting", "EHLO", "MAIL", "DATA", "end of data"
	Reply Reply
}

func (e *ReplyError) Error() string { return e.Stage + ": " + e.Reply.String() }

// Outcome is what the server said about one transaction.
type Outcome struct {
	Rcpts []Reply // one per Envelope.Rcpts, in order
	// Data is the reply to the end of data; zero when DATA was not sent
	// (no recipient accepted, or Submit was asked for all or nothing and
	// one was refused).
	Data Reply
}

// Accepted reports whether the message was taken (250 after the data).
func (o *Outcome) Accepted() bool { return o.Data.Code == 250 }

// timeout bounds each command's reply; the server's own limits are
// shorter for everything but the end of data.
const timeout = 5 * time.Minute

// maxReply bounds the bytes of one reply.
const maxReply = 64 << 10

// Submit runs one SMTP transaction on c, which must lead to a Pickup-mode
// server: greeting, EHLO, MAIL, one RCPT per recipient, then DATA with
// msg (CRLF line ends; dot-stuffed here) and QUIT. When allOrNothing is
// set and a recipient is refused, it sends RSET instead of DATA, so
// nothing is delivered. The error is an I/O failure or a *ReplyError; a
// refused recipient is no error, its reply is in the Outcome.
func Submit(c net.Conn, helo string, e *Envelope, size int64, msg io.Reader, allOrNothing bool) (*Outcome, error) {
	if err := e.check(); err != nil {
		return nil, fmt.Errorf("pickup: %w", err)
	}
	s := &client{c: c, br: bufio.NewReaderSize(c, 4096), bw: bufio.NewWriterSize(c, 32<<10)}
	defer s.quit()
	if r, err := s.read(); err != nil {
		return nil, err
	} else if r.Code != 220 {
		s.broken = true // RFC 5321 3.1: only QUIT after a 554 greeting
		return nil, &ReplyError{"greeting", r}
	}
	if r, err := s.cmd("EHLO " + helo); err != nil {
		return nil, err
	} else if r.Code != 250 {
		return nil, &ReplyError{"EHLO", r}
	}
	mail := "MAIL FROM:<" + e.From + ">"
	if size >= 0 {
		mail += " SIZE=" + strconv.FormatInt(size, 10)
	}
	if e.Body8 {
		mail += " BODY=8BITMIME"
	}
	if e.SMTPUTF8 {
		mail += " SMTPUTF8"
	}
	if e.Ret != "" {
		mail += " RET=" + e.Ret
	}
	if e.EnvID != "" {
		mail += " ENVID=" + xtext(e.EnvID)
	}
	if r, err := s.cmd(mail); err != nil {
		return nil, err
	} else if r.Code != 250 {
		return nil, &ReplyError{"MAIL", r}
	}
	out := &Outcome{Rcpts: make([]Reply, len(e.Rcpts))}
	accepted, refused := 0, 0
	for i, rc := range e.Rcpts {
		line := "RCPT TO:<" + rc.Addr + ">"
		if len(rc.Notify) > 0 {
			line += " NOTIFY=" + strings.Join(rc.Notify, ",")
		}
		r, err := s.cmd(line)
		if err != nil {
			return nil, err
		}
		out.Rcpts[i] = r
		if r.Code == 250 || r.Code == 251 {
			accepted++
		} else {
			refused++
		}
	}
	if accepted == 0 || allOrNothing && refused > 0 {
		if _, err := s.cmd("RSET"); err != nil {
			s.broken = true
		}
		return out, nil
	}
	if r, err := s.cmd("DATA"); err != nil {
		return nil, err
	} else if r.Code != 354 {
		return nil, &ReplyError{"DATA", r}
	}
	s.c.SetWriteDeadline(time.Now().Add(timeout))
	dw := &dotWriter{w: s.bw, bol: true}
	if _, err := io.Copy(dw, msg); err != nil {
		s.broken = true
		return nil, fmt.Errorf("pickup: sending the message: %w", err)
	}
	if err := dw.end(); err != nil {
		s.broken = true
		return nil, fmt.Errorf("pickup: sending the message: %w", err)
	}
	r, err := s.read()
	if err != nil {
		return nil, err
	}
	out.Data = r
	if r.Code != 250 {
		return out, &ReplyError{"end of data", r}
	}
	return out, nil
}

// client is one SMTP conversation with the local server.
type client struct {
	c      net.Conn
	br     *bufio.Reader
	bw     *bufio.Writer
	broken bool
}

func (s *client) cmd(line string) (Reply, error) {
	s.c.SetWriteDeadline(time.Now().Add(timeout))
	s.bw.WriteString(line + "\r\n")
	if err := s.bw.Flush(); err != nil {
		s.broken = true
		return Reply{}, fmt.Errorf("pickup: sending %s: %w", verb(line), err)
	}
	return s.read()
}

func verb(line string) string {
	v, _, _ := strings.Cut(line, " ")
	return v
}

// read reads one reply (RFC 5321 4.2: "NNN-text" lines, then "NNN text").
func (s *client) read() (Reply, error) {
	s.c.SetReadDeadline(time.Now().Add(timeout))
	var r Reply
	var texts []string
	total := 0
	for {
		line, err := s.br.ReadString('\n')
		total += len(line)
		if err != nil || total > maxReply {
			s.broken = true
			if err == nil {
				err = errors.New("reply too long")
			}
			return Reply{}, fmt.Errorf("pickup: reading the server's reply: %w", err)
		}
		line = strings.TrimRight(line, "\r\n")
		if len(line) < 3 {
			s.broken = true
			return Reply{}, fmt.Errorf("pickup: malformed reply %q", line)
		}
		code, err := strconv.Atoi(line[:3])
		if err != nil || code < 200 || code > 599 || (r.Code != 0 && code != r.Code) {
			s.broken = true
			return Reply{}, fmt.Errorf("pickup: malformed reply %q", line)
		}
		r.Code = code
		more := len(line) > 3 && line[3] == '-'
		text := ""
		if len(line) > 4 {
			text = line[4:]
		}
		texts = append(texts, text)
		if !more {
			break
		}
	}
	// RFC 2034: the enhanced code leads every line of the reply.
	first := texts[0]
	if enh, rest, ok := strings.Cut(first, " "); ok && isEnhanced(enh, r.Code) {
		r.Enhanced = enh
		texts[0] = rest
		for i := 1; i < len(texts); i++ {
			texts[i] = strings.TrimPrefix(texts[i], enh+" ")
		}
	}
	r.Text = strings.Join(texts, "; ")
	return r, nil
}

// isEnhanced reports whether s is an RFC 3463 code matching the reply
// code's class.
func isEnhanced(s string, code int) bool {
	parts := strings.Split(s, ".")
	if len(parts) != 3 || parts[0] != strconv.Itoa(code/100) {
		return false
	}
	for _, p := range parts[1:] {
		if n, err := strconv.Atoi(p); err != nil || n < 0 || n > 999 || len(p) > 3 {
			return false
		}
	}
	return true
}

func (s *client) quit() {
	if !s.broken {
		s.c.SetDeadline(time.Now().Add(10 * time.Second))
		s.cmd("QUIT")
	}
	s.c.Close()
}

// dotWriter writes message data for DATA (RFC 5321 4.5.2): a leading "."
// is doubled, and end adds the final CRLF if missing and ".\r\n".
type dotWriter struct {
	w   *bufio.Writer
	bol bool // at the beginning of a line
}

func (d *dotWriter) Write(p []byte) (int, error) {
	for i, b := range p {
		if d.bol && b == '.' {
			if err := d.w.WriteByte('.'); err != nil {
				return i, err
			}
		}
		if err := d.w.WriteByte(b); err != nil {
			return i, err
		}
		d.bol = b == '\n'
	}
	return len(p), nil
}

func (d *dotWriter) end() error {
	if !d.bol {
		d.w.WriteString("\r\n")
	}
	d.w.WriteString(".\r\n")
	return d.w.Flush()
}

// xtext encodes s for ENVID (RFC 3461 4): "+", "=" and characters
// outside "!".."~" become "+XX".
func xtext(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '!' || c > '~' || c == '+' || c == '=' {
			fmt.Fprintf(&b, "+%02X", c)
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}
