package imapwire

import (
	"bufio"
	"errors"
	"io"
	"math"
	"strings"
)

// Default limits used when NewReader gets a non-positive value.
const (
	DefaultMaxLine    = 64 * 1024
	DefaultMaxLiteral = 64 * 1024 * 1024
	maxDepth          = 64 // nesting of search keys
)

// Command is one parsed client command.
//
// Args by Name (nil when the command takes no arguments): AUTHENTICATE
// *AuthenticateArgs; LOGIN *LoginArgs; ENABLE *EnableArgs; ID *IDArgs;
// SELECT, EXAMINE *SelectArgs; CREATE *CreateArgs; DELETE, SUBSCRIBE,
// UNSUBSCRIBE, GETQUOTAROOT *MailboxArgs; RENAME *RenameArgs; LIST, LSUB
// *ListArgs; STATUS *StatusArgs; APPEND *AppendArgs; SEARCH *SearchArgs;
// FETCH *FetchArgs; STORE *StoreArgs; COPY, MOVE *CopyArgs; EXPUNGE (UID
// only) *ExpungeArgs; GETQUOTA *GetQuotaArgs; SETQUOTA *SetQuotaArgs;
// GETMETADATA *GetMetadataArgs; SETMETADATA *SetMetadataArgs;
// COMPRESS *CompressArgs; GENURLAUTH *GenURLAuthArgs; RESETKEY
// *ResetKeyArgs; URLFETCH *URLFetchArgs.
// CAPABILITY, NOOP, LOGOUT, STARTTLS, NAMESPACE, IDLE, CLOSE, UNSELECT,
// CHECK and plain EXPUNGE have nil Args.
type Command struct {
	Tag  string
	Name string // upper case, without the UID prefix
	UID  bool   // UID COPY/MOVE/FETCH/SEARCH/STORE/EXPUNGE
	Args any
}

// Reader reads client commands from a buffered connection.
type Reader struct {
	// MaxArgLiteral limits each literal other than the APPEND message.
	// NewReader sets it to maxLine.
	MaxArgLiteral int64
	// MaxMetadataValue, when positive, limits a SETMETADATA value literal
	// (RFC 5464 4.3: NO [METADATA MAXSIZE n], see ErrMetadataTooBig).
	MaxMetadataValue int64
	// MaxCommand limits the bytes of one command kept in memory (lines plus
	// argument literals). NewReader sets it to 4*maxLine.
	MaxCommand int
	// ContinuationText follows "+ " in a continuation request.
	ContinuationText string
	// CheckAppend, when set, is called once the size of an APPEND message
	// is known and before its data is requested or read. A non-nil error
	// aborts the command: ReadCommand returns a *ParseError wrapping it
	// (the server may errors.As it to its own type and answer NO instead,
	// e.g. [TRYCREATE] or [OVERQUOTA]).
	CheckAppend func(tag, mailbox string, size int64) error
	// CheckText, when set, is called with the size of each TEXT part of
	// a CATENATE (RFC 4469) before its data is requested or read; a
	// non-nil error aborts the command as with CheckAppend. CheckAppend
	// sees a CATENATE message with size 0.
	CheckText func(tag string, size int64) error

	br         *bufio.Reader
	cw         io.Writer
	maxLine    int
	maxLiteral int64

	tag     string
	lineLen int   // bytes consumed on the current line segment
	cmdLen  int   // bytes of the current command held in memory
	depth   int   // recursion depth of search keys
	eol     bool  // nothing of the current command is left to drain
	skip    int64 // literal bytes to discard before draining the line
	msg     *Literal

	// The APPEND being read (see NextAppend, EndAppend, NextPart):
	// appending once its first message was read; cat inside the parts
	// of a CATENATE (RFC 4469), catFirst before its first part.
	appending, cat, catFirst bool
	parts                    int
}

// NewReader returns a Reader reading commands from r. Continuation requests
// for synchronizing literals are written to w (flushed if w has a Flush()
// error method). maxLine bounds each line without its literals; maxLiteral
// bounds the APPEND message.
func NewReader(r *bufio.Reader, w io.Writer, maxLine int, maxLiteral int64) *Reader {
	if maxLine <= 0 {
		maxLine = DefaultMaxLine
	}
	if maxLiteral <= 0 {
		maxLiteral = DefaultMaxLiteral
	}
	return &Reader{
		MaxArgLiteral:    int64(maxLine),
		MaxCommand:       4 * maxLine,
		ContinuationText: "Ready for literal data",
		br:               r,
		cw:               w,
		maxLine:          maxLine,
		maxLiteral:       maxLiteral,
	}
}

// ReadCommand reads the next command. It returns io.EOF when the input ends
// between commands, a *ParseError for a bad command (the rest of which has
// been skipped unless Close is set), or another error from the input.
// An APPEND whose message was not finished with EndAppend is finished first.
func (r *Reader) ReadCommand() (*Command, error) {
	if r.appending {
		if err := r.EndAppend(); err != nil {
			return nil, err
		}
	}
	r.tag, r.lineLen, r.cmdLen, r.depth, r.eol, r.skip = "", 0, 0, 0, false, 0
	r.msg, r.appending, r.cat, r.catFirst, r.parts = nil, false, false, false, 0
	// Skip empty lines; some clients send a stray CRLF after a literal.
	for {
		b, err := r.br.Peek(1)
		if err != nil {
			return nil, err
		}
		if b[0] != '\r' && b[0] != '\n' {
			break
		}
		if _, err := r.br.ReadByte(); err != nil {
			return nil, err
		}
	}
	cmd, err := r.parseCommand()
	if err != nil {
		return nil, r.fail(err)
	}
	return cmd, nil
}

func (r *Reader) parseCommand() (*Command, error) {
	tag, err := r.readWhile(isTagChar)
	if err != nil {
		return nil, err
	}
	if tag == "" {
		return nil, r.errorf("missing or invalid tag")
	}
	r.tag = tag
	if err := r.sp(); err != nil {
		if pe, ok := err.(*ParseError); ok && !pe.Close {
			pe.Msg = "missing command"
		}
		return nil, err
	}
	cmd := &Command{Tag: tag}
	if cmd.Name, err = r.keyword("command name"); err != nil {
		return nil, err
	}
	if cmd.Name == "UID" {
		if err := r.sp(); err != nil {
			return nil, err
		}
		if cmd.Name, err = r.keyword("command name"); err != nil {
			return nil, err
		}
		switch cmd.Name {
		case "COPY", "MOVE", "FETCH", "SEARCH", "STORE", "EXPUNGE", "SORT", "THREAD":
			cmd.UID = true
		default:
			return nil, r.errorf("UID %s is not a command", cmd.Name)
		}
	}
	h, ok := handlers[cmd.Name]
	if !ok {
		return nil, r.errorf("unknown command %s", cmd.Name)
	}
	if h != nil {
		if cmd.Args, err = h(r, cmd); err != nil {
			return nil, err
		}
	}
	if r.appending {
		return cmd, nil // APPEND: the line ends after the message, see EndAppend
	}
	if err := r.crlf(); err != nil {
		return nil, err
	}
	return cmd, nil
}

// fail turns err into the error ReadCommand returns, skipping the rest of
// the bad command so that the next command can be read.
func (r *Reader) fail(err error) error {
	var pe *ParseError
	r.msg, r.appending, r.cat = nil, false, false
	if !errors.As(err, &pe) {
		return err
	}
	if pe.Close {
		return pe
	}
	if derr := r.drain(); derr != nil {
		if !errors.As(derr, new(*ParseError)) {
			return derr
		}
		pe.Close = true
	}
	return pe
}

// drain discards the rest of the current command: the current line, and
// the lines after non-synchronizing literals ending it. It stops at a line
// ending in a synchronizing literal, whose data the client will not send.
func (r *Reader) drain() error {
	if r.eol {
		return nil
	}
	budget := r.maxLiteral + int64(r.MaxCommand)
	var tail []byte
	for {
		if r.skip > 0 {
			if r.skip > budget {
				return r.fatalf("literal too big")
			}
			budget -= r.skip
			if budget < 0 {
				return r.fatalf("command too long")
			}
			if _, err := r.br.Discard(int(min(r.skip, int64(^uint(0)>>1)))); err != nil {
				return r.ioErr(err)
			}
			r.skip, r.lineLen = 0, 0
		}
		tail = tail[:0]
		for {
			if r.lineLen > r.maxLine {
				return r.fatalf("line too long")
			}
			c, err := r.br.ReadByte()
			if err != nil {
				return r.ioErr(err)
			}
			r.lineLen++
			if c == '\n' {
				break
			}
			if len(tail) == tailLen {
				copy(tail, tail[1:])
				tail = tail[:tailLen-1]
			}
			tail = append(tail, c)
		}
		n, ok := trailingNonSync(tail)
		if !ok {
			r.eol = true
			return nil
		}
		r.skip = n
	}
}

// tailLen is how much of a drained line is kept to find a literal header.
const tailLen = 24

// trailingNonSync reports whether line ends in a non-synchronizing literal
// header "{n+}" and returns n (math.MaxInt64 when n does not fit).
func trailingNonSync(line []byte) (int64, bool) {
	s := strings.TrimSuffix(string(line), "\r")
	if !strings.HasSuffix(s, "+}") {
		return 0, false
	}
	i := strings.LastIndexByte(s, '{')
	if i == len(s)-3 {
		return 0, false
	}
	if i < 0 {
		// Only digits survive in a full tail: too long a size to know,
		// so report it as unskippable.
		if len(line) == tailLen && allDigits(s[:len(s)-2]) {
			return math.MaxInt64, true
		}
		return 0, false
	}
	var n int64
	for _, c := range []byte(s[i+1 : len(s)-2]) {
		if c < '0' || c > '9' {
			return 0, false
		}
		if n > (math.MaxInt64-int64(c-'0'))/10 {
			return math.MaxInt64, true
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// ReadLine reads one raw line without its CRLF: an AUTHENTICATE response
// or the DONE that ends IDLE. A line longer than maxLine is a fatal
// *ParseError.
func (r *Reader) ReadLine() (string, error) {
	var b []byte
	for {
		c, err := r.br.ReadByte()
		if err != nil {
			if err == io.EOF && len(b) > 0 {
				err = io.ErrUnexpectedEOF
			}
			return "", err
		}
		if c == '\n' {
			return strings.TrimSuffix(string(b), "\r"), nil
		}
		if len(b) >= r.maxLine {
			return "", r.fatalf("line too long")
		}
		b = append(b, c)
	}
}

// Literal streams the message of an APPEND command. Read it, then call
// Reader.EndAppend before replying.
type Literal struct {
	Size   int64 // octets announced by the client
	Binary bool  // literal8 (~{n}, RFC 3516): may contain NUL
	r      *Reader
	left   int64
}

// Read implements io.Reader over the literal data.
func (l *Literal) Read(p []byte) (int, error) {
	if l.left <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > l.left {
		p = p[:l.left]
	}
	n, err := l.r.br.Read(p)
	l.left -= int64(n)
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return n, err
}

// NextAppend reads the next message of a MULTIAPPEND (RFC 3502) after
// the data of the previous one: it discards what of that was not read,
// then returns the next message, whose data the caller reads, or nil
// when the command line ends there (its CRLF read). Errors are
// *ParseError for a malformed or refused message (the rest of the command
// is skipped), others for a broken connection.
func (r *Reader) NextAppend(tag, mailbox string) (*AppendMessage, error) {
	if err := r.endMessage(); err != nil || !r.appending {
		return nil, err
	}
	if ok, err := r.accept(' '); err != nil {
		return nil, r.fail(err)
	} else if !ok {
		r.appending = false
		return nil, r.fail(r.crlf())
	}
	next, err := r.appendMessage(tag, mailbox)
	if err != nil {
		return nil, r.fail(err)
	}
	return next, nil
}

// EndAppend finishes an APPEND after its message: it discards any unread
// message data and checks that the command line ends there (CATENATE and
// other trailing data are rejected with a *ParseError; call NextAppend
// first for MULTIAPPEND). The server must not commit the message unless
// EndAppend returns nil.
func (r *Reader) EndAppend() error {
	if err := r.endMessage(); err != nil || !r.appending {
		return err
	}
	r.appending = false
	if c, err := r.peek(); err != nil {
		return err
	} else if c == ' ' {
		return r.fail(r.errorf("unexpected data after the APPEND message"))
	}
	if err := r.crlf(); err != nil {
		return r.fail(err)
	}
	return nil
}

// continuation asks the client for the data of a synchronizing literal.
func (r *Reader) continuation() error {
	if r.cw == nil {
		return r.errorf("synchronizing literals are not accepted")
	}
	if _, err := io.WriteString(r.cw, "+ "+r.ContinuationText+"\r\n"); err != nil {
		return err
	}
	if f, ok := r.cw.(interface{ Flush() error }); ok {
		return f.Flush()
	}
	return nil
}
