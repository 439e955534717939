package imapwire

import (
	"encoding/base64"
	"strings"
)

// handler parses the arguments of a command after its name, up to (not
// including) the line end.
type handler func(r *Reader, c *Command) (any, error)

// handlers maps command names to their argument parsers; nil means the
// command takes no arguments.
var handlers = map[string]handler{
	"CAPABILITY":   nil,
	"NOOP":         nil,
	"LOGOUT":       nil,
	"STARTTLS":     nil,
	"NAMESPACE":    nil,
	"IDLE":         nil,
	"CLOSE":        nil,
	"UNSELECT":     nil,
	"CHECK":        nil,
	"AUTHENTICATE": parseAuthenticate,
	"LOGIN":        parseLogin,
	"ENABLE":       parseEnable,
	"ID":           parseID,
	"SELECT":       parseSelect,
	"EXAMINE":      parseSelect,
	"CREATE":       parseCreate,
	"DELETE":       parseMailboxArg,
	"SUBSCRIBE":    parseMailboxArg,
	"UNSUBSCRIBE":  parseMailboxArg,
	"GETQUOTAROOT": parseMailboxArg,
	"RENAME":       parseRename,
	"LIST":         parseList,
	"LSUB":         parseLsub,
	"STATUS":       parseStatus,
	"APPEND":       parseAppend,
	"EXPUNGE":      parseExpunge,
	"SEARCH":       parseSearch,
	"SORT":         parseSort,
	"THREAD":       parseThread,
	"COMPRESS":     parseCompress,
	"FETCH":        parseFetch,
	"STORE":        parseStore,
	"COPY":         parseCopy,
	"MOVE":         parseCopy,
	"GETQUOTA":     parseGetQuota,
	"SETQUOTA":     parseSetQuota,
	"SETACL":       parseACL(2),
	"DELETEACL":    parseACL(1),
	"GETACL":       parseACL(0),
	"LISTRIGHTS":   parseACL(1),
	"MYRIGHTS":     parseACL(0),
	"NOTIFY":       parseNotify,
	"CANCELUPDATE": parseCancelUpdate,
	"GETMETADATA":  parseGetMetadata,
	"SETMETADATA":  parseSetMetadata,
	"GENURLAUTH":   parseGenURLAuth,
	"RESETKEY":     parseResetKey,
	"URLFETCH":     parseURLFetch,
}

// AuthenticateArgs: AUTHENTICATE mechanism [initial-response] (RFC 4959).
// Further client responses are read with Reader.ReadLine.
type AuthenticateArgs struct {
	Mechanism          string // upper case
	HasInitialResponse bool
	InitialResponse    []byte // decoded; empty for "="
}

func parseAuthenticate(r *Reader, _ *Command) (any, error) {
	if err := r.sp(); err != nil {
		return nil, err
	}
	mech, err := r.keyword("mechanism")
	if err != nil {
		return nil, err
	}
	a := &AuthenticateArgs{Mechanism: mech}
	if ok, err := r.accept(' '); err != nil || !ok {
		return a, err
	}
	ir, err := r.atom()
	if err != nil {
		return nil, err
	}
	a.HasInitialResponse = true
	if ir == "=" {
		a.InitialResponse = []byte{}
		return a, nil
	}
	if a.InitialResponse, err = base64.StdEncoding.DecodeString(ir); err != nil {
		return nil, r.errorf("invalid base64 in initial response")
	}
	return a, nil
}

// LoginArgs: LOGIN userid password.
type LoginArgs struct {
	Username, Password string
}

func parseLogin(r *Reader, _ *Command) (any, error) {
	var a LoginArgs
	var err error
	if err = r.sp(); err == nil {
		if a.Username, err = r.astring(); err == nil {
			if err = r.sp(); err == nil {
				a.Password, err = r.astring()
			}
		}
	}
	if err != nil {
		return nil, err
	}
	return &a, nil
}

// EnableArgs: ENABLE capability... (RFC 5161); names in upper case.
type EnableArgs struct {
	Caps []string
}

func parseEnable(r *Reader, _ *Command) (any, error) {
	a := &EnableArgs{}
	for {
		if err := r.sp(); err != nil {
			return nil, err
		}
		c, err := r.keyword("capability")
		if err != nil {
			return nil, err
		}
		a.Caps = append(a.Caps, c)
		if b, err := r.peek(); err != nil || b != ' ' {
			return a, err
		}
	}
}

// IDField is one field of an ID command (RFC 2971); Nil for a NIL value.
type IDField struct {
	Name, Value string
	Nil         bool
}

// IDArgs: ID ( "name" "value" ... ) or ID NIL (Fields nil).
type IDArgs struct {
	Fields []IDField
}

func parseID(r *Reader, _ *Command) (any, error) {
	if err := r.sp(); err != nil {
		return nil, err
	}
	a := &IDArgs{}
	if ok, err := r.accept('('); err != nil {
		return nil, err
	} else if !ok {
		if k, err := r.keyword("( or NIL"); err != nil {
			return nil, err
		} else if k != "NIL" {
			return nil, r.errorf("expected ( or NIL")
		}
		return a, nil
	}
	a.Fields = []IDField{}
	err := r.items(true, func() error {
		var f IDField
		var err error
		if f.Name, err = r.str(); err != nil {
			return err
		}
		if err := r.sp(); err != nil {
			return err
		}
		var ok bool
		if f.Value, ok, err = r.nstring(); err != nil {
			return err
		}
		f.Nil = !ok
		a.Fields = append(a.Fields, f)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return a, nil
}

// MailboxArgs: DELETE, SUBSCRIBE, UNSUBSCRIBE, GETQUOTAROOT mailbox.
// Mailbox names are kept as sent (modified UTF-7 unless UTF8=ACCEPT),
// except that INBOX in any case is "INBOX".
type MailboxArgs struct {
	Mailbox string
}

func parseMailboxArg(r *Reader, _ *Command) (any, error) {
	if err := r.sp(); err != nil {
		return nil, err
	}
	m, err := r.mailbox()
	if err != nil {
		return nil, err
	}
	return &MailboxArgs{Mailbox: m}, nil
}

// RenameArgs: RENAME from to.
type RenameArgs struct {
	From, To string
}

func parseRename(r *Reader, _ *Command) (any, error) {
	var a RenameArgs
	var err error
	if err = r.sp(); err == nil {
		if a.From, err = r.mailbox(); err == nil {
			if err = r.sp(); err == nil {
				a.To, err = r.mailbox()
			}
		}
	}
	if err != nil {
		return nil, err
	}
	return &a, nil
}

// CreateArgs: CREATE mailbox [(USE (\Sent ...))] (RFC 6154).
type CreateArgs struct {
	Mailbox    string
	SpecialUse []string // canonical case for the RFC 6154 attributes
}

var useAttrs = map[string]string{
	`\all`: `\All`, `\archive`: `\Archive`, `\drafts`: `\Drafts`, `\flagged`: `\Flagged`,
	`\junk`: `\Junk`, `\sent`: `\Sent`, `\trash`: `\Trash`,
}

func parseCreate(r *Reader, _ *Command) (any, error) {
	if err := r.sp(); err != nil {
		return nil, err
	}
	m, err := r.mailbox()
	if err != nil {
		return nil, err
	}
	a := &CreateArgs{Mailbox: m}
	if ok, err := r.accept(' '); err != nil || !ok {
		return a, err
	}
	err = r.paramList(func(name string) error {
		if name != "USE" {
			return r.errorf("unknown CREATE parameter %s", name)
		}
		if err := r.sp(); err != nil {
			return err
		}
		flags, err := r.flagList()
		if err != nil {
			return err
		}
		for _, f := range flags {
			if c, ok := useAttrs[strings.ToLower(f)]; ok {
				f = c
			} else if !strings.HasPrefix(f, `\`) {
				return r.errorf("invalid special-use attribute %s", f)
			}
			a.SpecialUse = append(a.SpecialUse, f)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return a, nil
}

// paramList reads "(" name [value] *(SP name [value]) ")", calling fn with
// each upper-case name to parse its value (RFC 4466 generic parameters).
func (r *Reader) paramList(fn func(name string) error) error {
	if err := r.expect('('); err != nil {
		return err
	}
	return r.items(false, func() error {
		name, err := r.keyword("parameter")
		if err != nil {
			return err
		}
		return fn(name)
	})
}

// GetQuotaArgs: GETQUOTA quota-root.
type GetQuotaArgs struct {
	Root string
}

func parseGetQuota(r *Reader, _ *Command) (any, error) {
	if err := r.sp(); err != nil {
		return nil, err
	}
	root, err := r.astring()
	if err != nil {
		return nil, err
	}
	return &GetQuotaArgs{Root: root}, nil
}

// QuotaLimit is one resource limit of SETQUOTA.
type QuotaLimit struct {
	Resource string // upper case: STORAGE, MESSAGE, ...
	Limit    uint64
}

// SetQuotaArgs: SETQUOTA root (resource limit ...) (RFC 9208).
type SetQuotaArgs struct {
	Root   string
	Limits []QuotaLimit
}

func parseSetQuota(r *Reader, _ *Command) (any, error) {
	a := &SetQuotaArgs{}
	var err error
	if err = r.sp(); err == nil {
		if a.Root, err = r.astring(); err == nil {
			if err = r.sp(); err == nil {
				err = r.expect('(')
			}
		}
	}
	if err != nil {
		return nil, err
	}
	err = r.items(true, func() error {
		var l QuotaLimit
		var err error
		if l.Resource, err = r.keyword("quota resource"); err != nil {
			return err
		}
		if err := r.sp(); err != nil {
			return err
		}
		if l.Limit, err = r.number64(1<<63-1, "quota limit"); err != nil {
			return err
		}
		a.Limits = append(a.Limits, l)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return a, nil
}

// CompressArgs: COMPRESS mechanism (RFC 4978 3, 5: "COMPRESS" SP
// algorithm); upper case. Which mechanisms exist is the server's business.
type CompressArgs struct {
	Mechanism string
}

func parseCompress(r *Reader, _ *Command) (any, error) {
	if err := r.sp(); err != nil {
		return nil, err
	}
	m, err := r.keyword("compression mechanism")
	if err != nil {
		return nil, err
	}
	return &CompressArgs{Mechanism: m}, nil
}
