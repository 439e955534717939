package pickup

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// A maildrop file is a small text header, an empty line and the message
// with CRLF line ends:
//
//	X-Mailwarden-Maildrop: 1
//	Sender: <a@example.org>
//	Recipient: <b@example.org> NOTIFY=SUCCESS,FAILURE
//	Ret: HDRS
//	Envid: text
//	Body: 8BITMIME
//	Smtputf8: yes
//	Size: 1234
//
//	<1234 bytes of message>
//
// Only the header's first line and Sender, Recipient and Size are
// required. Size must match the rest of the file exactly, so a truncated
// file is refused. The file's owner, not its content, says who sent it.
const magic = "X-Mailwarden-Maildrop: 1"

// Limits of the file header.
const maxHeaderLine = 2 * maxAddr

// ErrCorrupt wraps every reason a maildrop file is refused.
var ErrCorrupt = errors.New("pickup: corrupt maildrop file")

// encodeHeader renders the file header of e for a message of size bytes.
func encodeHeader(e *Envelope, size int64) []byte {
	var b bytes.Buffer
	b.WriteString(magic + "\n")
	b.WriteString("Sender: <" + e.From + ">\n")
	for _, r := range e.Rcpts {
		b.WriteString("Recipient: <" + r.Addr + ">")
		if len(r.Notify) > 0 {
			b.WriteString(" NOTIFY=" + strings.Join(r.Notify, ","))
		}
		b.WriteByte('\n')
	}
	if e.Ret != "" {
		b.WriteString("Ret: " + e.Ret + "\n")
	}
	if e.EnvID != "" {
		b.WriteString("Envid: " + e.EnvID + "\n")
	}
	if e.Body8 {
		b.WriteString("Body: 8BITMIME\n")
	}
	if e.SMTPUTF8 {
		b.WriteString("Smtputf8: yes\n")
	}
	b.WriteString("Size: " + strconv.FormatInt(size, 10) + "\n\n")
	return b.Bytes()
}

// parseHeader reads a file header from br and returns the envelope and
// the message size it announces.
func parseHeader(br *bufio.Reader) (*Envelope, int64, error) {
	bad := func(format string, a ...any) (*Envelope, int64, error) {
		return nil, 0, fmt.Errorf("%w: %s", ErrCorrupt, fmt.Sprintf(format, a...))
	}
	e := &Envelope{}
	var size int64 = -1
	sender := false
	for n := 0; ; n++ {
		line, err := readLine(br)
		if err != nil {
			return bad("header line %d: %v", n+1, err)
		}
		if n == 0 {
			if line != magic {
				return bad("not a maildrop file")
			}
			continue
		}
		if line == "" {
			break
		}
		if n > maxRcpts+8 {
			return bad("header too long")
		}
		name, val, ok := strings.Cut(line, ": ")
		if !ok {
			return bad("line %d: no field", n+1)
		}
		switch strings.ToLower(name) {
		case "sender":
			a, rest, err := angle(val)
			if err != nil || rest != "" || sender {
				return bad("line %d: sender", n+1)
			}
			e.From, sender = a, true
		case "recipient":
			a, rest, err := angle(val)
			if err != nil {
				return bad("line %d: recipient: %v", n+1, err)
			}
			r := Rcpt{Addr: a}
			if rest != "" {
				list, ok := strings.CutPrefix(rest, " NOTIFY=")
				if !ok || list == "" {
					return bad("line %d: recipient parameter", n+1)
				}
				r.Notify = strings.Split(list, ",")
			}
			e.Rcpts = append(e.Rcpts, r)
		case "ret":
			e.Ret = val
		case "envid":
			e.EnvID = val
		case "body":
			if val != "8BITMIME" {
				return bad("line %d: body %q", n+1, val)
			}
			e.Body8 = true
		case "smtputf8":
			e.SMTPUTF8 = val == "yes"
		case "size":
			v, err := strconv.ParseInt(val, 10, 64)
			if err != nil || v < 0 || size >= 0 {
				return bad("line %d: size", n+1)
			}
			size = v
		default:
			return bad("line %d: unknown field %q", n+1, name)
		}
	}
	if !sender || size < 0 {
		return bad("no Sender or Size")
	}
	if err := e.check(); err != nil {
		return bad("%v", err)
	}
	return e, size, nil
}

// readLine reads one LF-terminated line of at most maxHeaderLine bytes.
func readLine(br *bufio.Reader) (string, error) {
	var b []byte
	for {
		frag, err := br.ReadSlice('\n')
		b = append(b, frag...)
		if len(b) > maxHeaderLine {
			return "", errors.New("line too long")
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err == io.EOF {
			return "", io.ErrUnexpectedEOF
		}
		if err != nil {
			return "", err
		}
		return string(b[:len(b)-1]), nil
	}
}

// angle splits "<addr> rest" into addr and rest (without its space).
func angle(v string) (addr, rest string, err error) {
	if !strings.HasPrefix(v, "<") {
		return "", "", errors.New("no <")
	}
	i := strings.IndexByte(v, '>')
	if i < 0 {
		return "", "", errors.New("no >")
	}
	return v[1:i], v[i+1:], nil
}

// ReadFile parses a maildrop file from r: the envelope, and a reader of
// exactly the message, which reports ErrCorrupt if the file is shorter
// or longer than its Size says.
func ReadFile(r io.Reader) (*Envelope, int64, io.Reader, error) {
	br := bufio.NewReaderSize(r, 32<<10)
	e, size, err := parseHeader(br)
	if err != nil {
		return nil, 0, nil, err
	}
	return e, size, &exactReader{r: br, left: size}, nil
}

// exactReader reads exactly left bytes and then wants EOF.
type exactReader struct {
	r    io.Reader
	left int64
}

func (x *exactReader) Read(p []byte) (int, error) {
	if x.left == 0 {
		var one [1]byte
		if n, _ := io.ReadFull(x.r, one[:]); n > 0 {
			return 0, fmt.Errorf("%w: longer than its Size", ErrCorrupt)
		}
		return 0, io.EOF
	}
	if int64(len(p)) > x.left {
		p = p[:x.left]
	}
	n, err := x.r.Read(p)
	x.left -= int64(n)
	if err == io.EOF {
		if x.left > 0 {
			return n, fmt.Errorf("%w: shorter than its Size (truncated)", ErrCorrupt)
		}
		err = nil
	}
	return n, err
}

// Drop writes a message into the maildrop directory dir as one file,
// as postdrop does: mode 0600 while it is written, synced, then 0744
// (the owner's execute bit says "complete" to the picker). The name is
// random, so other users, who cannot list dir, cannot find it. It
// returns the file's name.
func Drop(dir string, e *Envelope, size int64, msg io.Reader) (string, error) {
	if err := e.check(); err != nil {
		return "", err
	}
	var rnd [16]byte
	rand.Read(rnd[:])
	name := hex.EncodeToString(rnd[:])
	path := filepath.Join(dir, name)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", fmt.Errorf("pickup: maildrop: %w", err)
	}
	fail := func(err error) (string, error) {
		f.Close()
		os.Remove(path)
		return "", fmt.Errorf("pickup: maildrop %s: %w", path, err)
	}
	w := bufio.NewWriterSize(f, 64<<10)
	w.Write(encodeHeader(e, size))
	n, err := io.Copy(w, msg)
	if err != nil {
		return fail(err)
	}
	if n != size {
		return fail(fmt.Errorf("message is %d bytes, not %d", n, size))
	}
	if err := w.Flush(); err != nil {
		return fail(err)
	}
	if err := f.Sync(); err != nil {
		return fail(err)
	}
	if err := f.Chmod(readyMode); err != nil {
		return fail(err)
	}
	if err := f.Close(); err != nil {
		os.Remove(path)
		return "", fmt.Errorf("pickup: maildrop %s: %w", path, err)
	}
	return name, nil
}

// readyMode marks a complete maildrop file (Postfix's postdrop uses the
// owner's execute bit the same way). Group and others may read it so a
// server running under its own uid can; nobody can list the directory.
const readyMode = 0o744
