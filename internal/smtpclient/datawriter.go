package smtpclient

import (
	"bufio"
	"bytes"
)

// dataWriter writes a message as the text of DATA (RFC 5321 4.1.1.4):
// every line ends in CRLF, a bare CR or a bare LF becomes CRLF (as Postfix
// 3.9's smtpd_forbid_bare_newline = normalize does on the way in), NUL
// bytes are dropped, and a line starting with "." gets one more (RFC 5321
// 4.5.2), also a line that only the normalisation made. So the next hop
// cannot read an end of data, or a command, other than where we put it,
// whatever line ends it accepts (SMTP smuggling). Close ends the text with
// "<CRLF>.<CRLF>".
type dataWriter struct {
	w   *bufio.Writer
	bol bool // at the beginning of a line
	cr  bool // a CR was read; whether an LF follows is not known yet
}

func newDataWriter(w *bufio.Writer) *dataWriter { return &dataWriter{w: w, bol: true} }

var crlf = []byte("\r\n")

func (d *dataWriter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		c := p[0]
		if d.cr && c != 0 { // NULs are dropped, so "\r\x00\n" is one CRLF
			d.cr = false
			if _, err := d.w.Write(crlf); err != nil {
				return n - len(p), err
			}
			d.bol = true
			if c == '\n' {
				p = p[1:]
				continue
			}
		}
		switch c {
		case 0:
			p = p[1:]
			continue
		case '\r':
			d.cr = true
			p = p[1:]
			continue
		case '\n': // bare LF
			if _, err := d.w.Write(crlf); err != nil {
				return n - len(p), err
			}
			d.bol = true
			p = p[1:]
			continue
		}
		if d.bol && c == '.' {
			if err := d.w.WriteByte('.'); err != nil {
				return n - len(p), err
			}
		}
		d.bol = false
		i := bytes.IndexAny(p, "\r\n\x00")
		if i < 0 {
			i = len(p)
		}
		if _, err := d.w.Write(p[:i]); err != nil {
			return n - len(p), err
		}
		p = p[i:]
	}
	return n, nil
}

// Close ends the last line if the message did not, writes the final dot
// and flushes.
func (d *dataWriter) Close() error {
	if d.cr || !d.bol {
		if _, err := d.w.Write(crlf); err != nil {
			return err
		}
	}
	d.cr, d.bol = false, true
	if _, err := d.w.WriteString(".\r\n"); err != nil {
		return err
	}
	return d.w.Flush()
}
