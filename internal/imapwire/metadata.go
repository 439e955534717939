package imapwire

import (
	"bytes"
	"errors"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"
)

// METADATA (RFC 5464): GETMETADATA and SETMETADATA.

// ErrMetadataTooBig is the Err of the ParseError for a SETMETADATA value
// longer than Reader.MaxMetadataValue; its Code is "METADATA MAXSIZE n"
// and the server answers NO with it (RFC 5464 4.3).
var ErrMetadataTooBig = errors.New("metadata value too big")

// DepthInfinity is GetMetadataArgs.Depth for DEPTH infinity.
const DepthInfinity = -1

// GetMetadataArgs: GETMETADATA [(MAXSIZE n DEPTH d)] mailbox entries
// (RFC 5464 4.2). Entry names are in lower case (they compare without
// case, 3.2); Mailbox "" names the server.
type GetMetadataArgs struct {
	Mailbox    string
	Entries    []string
	HasMaxSize bool
	MaxSize    uint32
	Depth      int // 0, 1 or DepthInfinity
}

// MetadataValue is one entry-value of SETMETADATA; Nil removes the entry.
type MetadataValue struct {
	Entry string // lower case
	Value []byte
	Nil   bool
}

// SetMetadataArgs: SETMETADATA mailbox (entry value ...) (RFC 5464 4.3).
type SetMetadataArgs struct {
	Mailbox string
	Values  []MetadataValue
}

func parseGetMetadata(r *Reader, _ *Command) (any, error) {
	a := &GetMetadataArgs{}
	if err := r.sp(); err != nil {
		return nil, err
	}
	if ok, err := r.accept('('); err != nil {
		return nil, err
	} else if ok {
		// RFC 5464 4.2.1, 4.2.2: getmetadata-options.
		err := r.items(false, func() error {
			name, err := r.keyword("GETMETADATA option")
			if err != nil {
				return err
			}
			if err := r.sp(); err != nil {
				return err
			}
			switch name {
			case "MAXSIZE":
				a.HasMaxSize = true
				a.MaxSize, err = r.number("MAXSIZE")
				return err
			case "DEPTH":
				d, err := r.keyword("DEPTH")
				switch {
				case err != nil:
					return err
				case d == "0" || d == "1":
					a.Depth = int(d[0] - '0')
				case d == "INFINITY":
					a.Depth = DepthInfinity
				default:
					return r.errorf("invalid value for DEPTH option")
				}
				return nil
			}
			return r.errorf("unknown GETMETADATA option %s", name)
		})
		if err != nil {
			return nil, err
		}
		if err := r.sp(); err != nil {
			return nil, err
		}
	}
	var err error
	if a.Mailbox, err = r.mailbox(); err != nil {
		return nil, err
	}
	if err := r.sp(); err != nil {
		return nil, err
	}
	one := func() error {
		e, err := r.entry(false)
		a.Entries = append(a.Entries, e)
		return err
	}
	list, err := r.accept('(')
	if err != nil {
		return nil, err
	}
	if list {
		err = r.items(false, one)
	} else {
		err = one()
	}
	if err != nil {
		return nil, err
	}
	return a, nil
}

func parseSetMetadata(r *Reader, _ *Command) (any, error) {
	a := &SetMetadataArgs{}
	var err error
	if err = r.sp(); err != nil {
		return nil, err
	}
	if a.Mailbox, err = r.mailbox(); err != nil {
		return nil, err
	}
	if err = r.sp(); err != nil {
		return nil, err
	}
	if err = r.expect('('); err != nil {
		return nil, err
	}
	err = r.items(false, func() error {
		var v MetadataValue
		var err error
		if v.Entry, err = r.entry(true); err != nil {
			return err
		}
		if err := r.sp(); err != nil {
			return err
		}
		if v.Value, v.Nil, err = r.metadataValue(); err != nil {
			return err
		}
		a.Values = append(a.Values, v)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return a, nil
}

// entry reads an entry name and checks it (RFC 5464 3.2): "/private" or
// "/shared" and below, no "*" or "%", no "//", no trailing "/", no
// control characters, UTF-8. For SETMETADATA (leaf) the bare prefixes
// are not entries. The name is returned in lower case.
func (r *Reader) entry(leaf bool) (string, error) {
	e, err := r.astring()
	if err != nil {
		return "", err
	}
	e = strings.ToLower(e)
	switch {
	case e != "/private" && e != "/shared" && !strings.HasPrefix(e, "/private/") && !strings.HasPrefix(e, "/shared/"):
		return "", r.errorf("entry name must begin with /private or /shared")
	case leaf && (e == "/private" || e == "/shared"):
		return "", r.errorf("entry name must name an entry below /private or /shared")
	case strings.ContainsAny(e, "*%"):
		return "", r.errorf("entry name can't contain '*' or '%%'")
	case strings.Contains(e, "//"):
		return "", r.errorf("entry name can't contain consecutive '/'")
	case strings.HasSuffix(e, "/"):
		return "", r.errorf("entry name can't end with '/'")
	case len(e) > MaxEntryName:
		return "", r.errorf("entry name too long")
	case !utf8.ValidString(e) || strings.ContainsFunc(e, func(c rune) bool { return c < 0x20 || c == 0x7f }):
		return "", r.errorf("entry name must be UTF-8 without control characters")
	}
	return e, nil
}

// MaxEntryName is the longest entry name accepted, in bytes.
const MaxEntryName = 1024

// metadataValue reads value = nstring / literal8 (RFC 5464 5): a quoted
// string, a literal, a literal8 (which may hold NUL) or NIL.
func (r *Reader) metadataValue() (v []byte, isNil bool, err error) {
	c, err := r.peek()
	if err != nil {
		return nil, false, err
	}
	switch c {
	case '"':
		s, err := r.quoted()
		return []byte(s), false, err
	case '{', '~':
		v, err := r.valueLiteral()
		return v, false, err
	}
	k, err := r.keyword("value")
	if err == nil && k != "NIL" {
		err = r.errorf("expected a value or NIL")
	}
	return nil, true, err
}

// valueLiteral reads the literal or literal8 of a SETMETADATA value. One
// longer than MaxMetadataValue is refused before its data is asked for
// (synchronizing) or skipped (LITERAL+), with ErrMetadataTooBig.
func (r *Reader) valueLiteral() ([]byte, error) {
	n, sync, binary, err := r.literalHeader(true)
	if err != nil {
		return nil, err
	}
	if r.MaxMetadataValue > 0 && n > r.MaxMetadataValue {
		return nil, r.refuseLiteral(n, sync, &ParseError{Tag: r.tag, Code: "METADATA MAXSIZE " + strconv.FormatInt(r.MaxMetadataValue, 10),
			Msg: "Metadata value too big.", Err: ErrMetadataTooBig})
	}
	if n > r.MaxArgLiteral || int64(r.cmdLen)+n > int64(r.MaxCommand) {
		return nil, r.refuseLiteral(n, sync, &ParseError{Tag: r.tag, Code: "TOOBIG", Msg: "literal too big"})
	}
	if sync {
		if err := r.continuation(); err != nil {
			return nil, err
		}
	}
	buf := make([]byte, n)
	if _, err := io.ReadFull(r.br, buf); err != nil {
		return nil, r.ioErr(err)
	}
	r.cmdLen += int(n)
	if !binary && bytes.IndexByte(buf, 0) >= 0 {
		return nil, r.errorf("NUL in literal (send binary values as literal8 ~{n})")
	}
	return buf, nil
}
