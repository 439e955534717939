package smtpwire

import (
	"bufio"
	"errors"
	"strings"
)

// ErrLineTooLong is returned by ReadLine for a command line longer than its
// limit, and by DataReader (at the end of the data) when a text line was
// longer than its limit. In both cases the input was consumed to the end of
// the line (or of the data), so the session stays in step with the client.
var ErrLineTooLong = errors.New("smtpwire: line too long")

// ReadLine reads one command line from r. The line ends at LF; a CR just
// before it is removed. A bare LF is accepted as a line end, as Postfix 3.9's
// smtpd_forbid_bare_newline=normalize does for commands. A CR elsewhere stays
// in the line (the argument parsers refuse control characters).
//
// A line longer than max bytes (line end excluded) is consumed up to its LF
// and ErrLineTooLong is returned; at most max bytes are held in memory. At
// end of input before a LF, ReadLine returns io.EOF for an empty remainder
// and io.ErrUnexpectedEOF for a partial line.
//
// The returned slice may point into r's buffer: it is valid only until the
// next read from r. Copy it (or convert it to a string) to keep it.
func ReadLine(r *bufio.Reader, max int) ([]byte, error) {
	line, err := r.ReadSlice('\n')
	if err == nil {
		line = trimEOL(line)
		if len(line) > max {
			return nil, ErrLineTooLong
		}
		return line, nil
	}
	var long []byte // a line longer than r's buffer, still within max
	tooLong := false
	for err == bufio.ErrBufferFull {
		if !tooLong {
			if len(long)+len(line) > max+2 { // +2: the CRLF may be split off later
				tooLong = true
				long = nil
			} else {
				long = append(long, line...)
			}
		}
		line, err = r.ReadSlice('\n')
	}
	if err != nil {
		if len(line) > 0 || len(long) > 0 || tooLong {
			return nil, errUnexpectedEOF(err)
		}
		return nil, err
	}
	if tooLong {
		return nil, ErrLineTooLong
	}
	long = trimEOL(append(long, line...))
	if len(long) > max {
		return nil, ErrLineTooLong
	}
	return long, nil
}

func trimEOL(line []byte) []byte {
	line = line[:len(line)-1]
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line
}

// SplitCommand splits a command line into its verb, upper-cased (ASCII
// only), and its argument: what follows the first run of spaces, with
// trailing spaces removed. "mail  FROM:<a@b>  " gives "MAIL", "FROM:<a@b>".
func SplitCommand(line []byte) (verb, arg string) {
	i := 0
	for i < len(line) && line[i] != ' ' {
		i++
	}
	verb = upperASCII(line[:i])
	for i < len(line) && line[i] == ' ' {
		i++
	}
	end := len(line)
	for end > i && line[end-1] == ' ' {
		end--
	}
	return verb, string(line[i:end])
}

// upperASCII upper-cases ASCII letters only; other bytes are kept as they are.
func upperASCII(b []byte) string {
	var sb strings.Builder
	sb.Grow(len(b))
	for _, c := range b {
		if 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		}
		sb.WriteByte(c)
	}
	return sb.String()
}
