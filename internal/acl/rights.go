package acl

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Rights is a set of RFC 4314 2.1 rights.
type Rights uint16

// The rights of RFC 4314 2.1.
const (
	Lookup         Rights = 1 << iota // l: the mailbox is visible to LIST
	Read                              // r: SELECT, EXAMINE, STATUS, FETCH, SEARCH, COPY from
	Write                             // w: keep flags other than \Seen and \Deleted
	Seen                              // s: keep \Seen
	DeleteMessages                    // t: set or clear \Deleted
	Insert                            // i: APPEND, COPY and MOVE into
	Post                              // p: send mail to the submission address (kept, not used)
	Expunge                           // e: EXPUNGE, and the expunge of CLOSE
	CreateMailbox                     // k: CREATE below, RENAME to below
	DeleteMailbox                     // x: DELETE, RENAME from
	Admin                             // a: SETACL, DELETEACL, GETACL, LISTRIGHTS
)

// All is every right: what the owner of a personal folder has.
const All = Lookup | Read | Write | Seen | DeleteMessages | Insert | Post | Expunge | CreateMailbox | DeleteMailbox | Admin

// letters lists the rights in the order they are written (Dovecot's).
const letters = "lrwstipekxa"

// Letters is every right letter a client may send, the virtual "c" and
// "d" included, for LISTRIGHTS.
const Letters = letters + "cd"

// RFC 4314 2.1.1: "c" is every member of the "create" right, "d" every
// member of the "delete" right. A server of RIGHTS=texk makes "c" k and
// x, "d" e and t, as Dovecot does.
const (
	createGroup = CreateMailbox | DeleteMailbox
	deleteGroup = Expunge | DeleteMessages
)

// ErrBadRights is wrapped by every rights syntax error.
var ErrBadRights = errors.New("invalid rights")

// maxRightsLen bounds a rights string: every letter a few times over.
const maxRightsLen = 64

// Parse reads a rights string (RFC 4314 3.1 "rights"): any of the
// letters, in any order and repeated, with "c" and "d" as the virtual
// rights of RFC 4314 2.1.1. The empty string is no rights.
func Parse(s string) (Rights, error) {
	if len(s) > maxRightsLen {
		return 0, fmt.Errorf("%w: longer than %d letters", ErrBadRights, maxRightsLen)
	}
	var r Rights
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case 'c':
			r |= createGroup
		case 'd':
			r |= deleteGroup
		default:
			k := strings.IndexByte(letters, c)
			if k < 0 {
				if c < 0x21 || c > 0x7e {
					return 0, fmt.Errorf("%w: byte 0x%02x is not a right", ErrBadRights, c)
				}
				return 0, fmt.Errorf("%w: %q is not a right", ErrBadRights, c)
			}
			r |= bit(k)
		}
	}
	return r, nil
}

func bit(k int) Rights { return 1 << k }

// Mode is how SETACL changes the rights of an identifier (RFC 4314 3.1).
type Mode int

// The SETACL modes: "lr" replaces, "+lr" adds, "-lr" removes.
const (
	Replace Mode = iota
	Add
	Remove
)

// ParseModify reads the rights argument of SETACL: a rights string,
// optionally after "+" (add) or "-" (remove).
func ParseModify(s string) (Mode, Rights, error) {
	mode := Replace
	switch {
	case strings.HasPrefix(s, "+"):
		mode, s = Add, s[1:]
	case strings.HasPrefix(s, "-"):
		mode, s = Remove, s[1:]
	}
	r, err := Parse(s)
	return mode, r, err
}

// Apply returns cur changed as mode says.
func (m Mode) Apply(cur, r Rights) Rights {
	switch m {
	case Add:
		return cur | r
	case Remove:
		return cur &^ r
	}
	return r
}

// Has reports whether r holds every right of want.
func (r Rights) Has(want Rights) bool { return r&want == want }

// Any reports whether r holds at least one right of want.
func (r Rights) Any(want Rights) bool { return r&want != 0 }

// String writes r as letters in Dovecot's order, followed by "c" when it
// holds k or x and "d" when it holds e or t (RFC 4314 2.1.1: clients of
// RFC 2086 look for them). No rights is "".
func (r Rights) String() string {
	var b strings.Builder
	for k := 0; k < len(letters); k++ {
		if r&bit(k) != 0 {
			b.WriteByte(letters[k])
		}
	}
	if r.Any(createGroup) {
		b.WriteByte('c')
	}
	if r.Any(deleteGroup) {
		b.WriteByte('d')
	}
	return b.String()
}

// Stored writes r as letters only, without the virtual rights: the form
// kept in the database, which Parse reads back to r.
func (r Rights) Stored() string {
	var b strings.Builder
	for k := 0; k < len(letters); k++ {
		if r&bit(k) != 0 {
			b.WriteByte(letters[k])
		}
	}
	return b.String()
}

// The special identifiers of RFC 4314 2. Every IMAP user is
// authenticated, so the two mean the same here.
const (
	Anyone        = "anyone"
	Authenticated = "authenticated"
)

// ErrBadIdentifier is wrapped by every identifier error.
var ErrBadIdentifier = errors.New("invalid identifier")

// Identifier checks an identifier of SETACL or DELETEACL and returns its
// stored form, lower case, and whether it names negative rights ("-bob":
// RFC 4314 2). Groups ("$group", Dovecot) and global ACLs ("#...") are
// not supported; "owner" is refused because the owner of a folder always
// has every right.
func Identifier(id string) (name string, negative bool, err error) {
	if strings.HasPrefix(id, "-") {
		negative, id = true, id[1:]
	}
	if id == "" || len(id) > 255 || !utf8.ValidString(id) {
		return "", false, fmt.Errorf("%w: empty, too long or not UTF-8", ErrBadIdentifier)
	}
	for _, c := range id {
		if c < 0x21 || c == 0x7f {
			return "", false, fmt.Errorf("%w: %q contains a space or control character", ErrBadIdentifier, id)
		}
	}
	switch id[0] {
	case '$', '#', '!':
		return "", false, fmt.Errorf("%w: %q: groups and global ACLs are not supported", ErrBadIdentifier, id)
	case '-':
		return "", false, fmt.Errorf("%w: %q", ErrBadIdentifier, id)
	}
	id = strings.ToLower(id)
	if id == "owner" {
		return "", false, fmt.Errorf("%w: the owner always has every right", ErrBadIdentifier)
	}
	if negative {
		return "-" + id, true, nil
	}
	return id, false, nil
}

// Entry is one identifier and its rights on a folder. Negative entries
// have an Identifier starting with "-".
type Entry struct {
	Identifier string
	Rights     Rights
}

// Matches reports whether the (positive form of the) identifier of e
// applies to user. anyone and authenticated apply only when sameDomain:
// a folder opened to "anyone" is opened to the users of its owner's
// domain, not to every domain the server hosts.
func (e Entry) Matches(user string, sameDomain bool) bool {
	id := strings.TrimPrefix(e.Identifier, "-")
	switch id {
	case Anyone, Authenticated:
		return sameDomain
	}
	return id == user
}

// Effective is the rights of user from the entries of a folder it does
// not own, combined as Dovecot's acl plugin combines them (RFC 4314 2
// leaves it to the server; Appendix C): the entries that apply are
// taken from the least to the most specific identifier, anyone, then
// authenticated, then the user's own name, and each one's positive
// rights replace those gathered so far, as its negative rights replace
// the negative ones; the result is the positive rights less the
// negative. So "anyone lr" with "bob l" gives bob only l, and "-bob r"
// takes r from what anyone gives him.
func Effective(entries []Entry, user string, sameDomain bool) Rights {
	var pos, neg Rights
	for _, level := range []string{Anyone, Authenticated, user} {
		for _, e := range entries {
			id, negative := strings.CutPrefix(e.Identifier, "-")
			if id != level || !e.Matches(user, sameDomain) {
				continue
			}
			if negative {
				neg = e.Rights
			} else {
				pos = e.Rights
			}
		}
	}
	return pos &^ neg
}
