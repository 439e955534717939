package imapserver

import (
	"context"
	"errors"
	"strconv"
	"strings"

	"mailwarden/internal/imapwire"
	"mailwarden/internal/store"
)

// result is the tagged reply of a command.
type result struct {
	status, code, text string
	// quiet: no pending mailbox updates before the reply (LOGOUT, and
	// commands that sent them already).
	quiet bool
}

func done(text string) result           { return result{status: "OK", text: text} }
func doneCode(code, text string) result { return result{status: "OK", code: code, text: text} }
func fail(code, text string) result     { return result{status: "NO", code: code, text: text} }
func bad(text string) result            { return result{status: "BAD", text: text} }

// command is one IMAP command: the states it is valid in and its handler.
type command struct {
	states state
	fn     func(s *session, c *imapwire.Command) result
}

const (
	anyState     = stateNotAuth | stateAuth | stateSelected
	authed       = stateAuth | stateSelected
	selectedOnly = stateSelected
)

var commands map[string]command

func init() {
	commands = map[string]command{
		"CAPABILITY":   {anyState, (*session).cmdCapability},
		"NOOP":         {anyState, (*session).cmdNoop},
		"LOGOUT":       {anyState, (*session).cmdLogout},
		"ID":           {anyState, (*session).cmdID},
		"STARTTLS":     {stateNotAuth, (*session).cmdStartTLS},
		"LOGIN":        {stateNotAuth, (*session).cmdLogin},
		"AUTHENTICATE": {stateNotAuth, (*session).cmdAuthenticate},
		"ENABLE":       {authed, (*session).cmdEnable},
		"NAMESPACE":    {authed, (*session).cmdNamespace},
		"SELECT":       {authed, (*session).cmdSelect},
		"EXAMINE":      {authed, (*session).cmdSelect},
		"CREATE":       {authed, (*session).cmdCreate},
		"DELETE":       {authed, (*session).cmdDelete},
		"RENAME":       {authed, (*session).cmdRename},
		"SUBSCRIBE":    {authed, (*session).cmdSubscribe},
		"UNSUBSCRIBE":  {authed, (*session).cmdSubscribe},
		"LIST":         {authed, (*session).cmdList},
		"LSUB":         {authed, (*session).cmdList},
		"STATUS":       {authed, (*session).cmdStatus},
		"APPEND":       {authed, (*session).cmdAppend},
		"IDLE":         {authed, (*session).cmdIdle},
		"COMPRESS":     {anyState, (*session).cmdCompress},
		"GETQUOTA":     {authed, (*session).cmdGetQuota},
		"GETQUOTAROOT": {authed, (*session).cmdGetQuotaRoot},
		"SETQUOTA":     {authed, (*session).cmdSetQuota},
		"CHECK":        {selectedOnly, (*session).cmdNoop},
		"CLOSE":        {selectedOnly, (*session).cmdClose},
		"UNSELECT":     {selectedOnly, (*session).cmdUnselect},
		"EXPUNGE":      {selectedOnly, (*session).cmdExpunge},
		"SEARCH":       {selectedOnly, (*session).cmdSearch},
		"SORT":         {selectedOnly, (*session).cmdSort},
		"THREAD":       {selectedOnly, (*session).cmdThread},
		"FETCH":        {selectedOnly, (*session).cmdFetch},
		"STORE":        {selectedOnly, (*session).cmdStore},
		"COPY":         {selectedOnly, (*session).cmdCopy},
		"MOVE":         {selectedOnly, (*session).cmdCopy},
		"SETACL":       {authed, (*session).cmdSetACL},
		"DELETEACL":    {authed, (*session).cmdDeleteACL},
		"GETACL":       {authed, (*session).cmdGetACL},
		"LISTRIGHTS":   {authed, (*session).cmdListRights},
		"MYRIGHTS":     {authed, (*session).cmdMyRights},
		"NOTIFY":       {authed, (*session).cmdNotify},
		"CANCELUPDATE": {selectedOnly, (*session).cmdCancelUpdate},
		"GETMETADATA":  {authed, (*session).cmdGetMetadata},
		"SETMETADATA":  {authed, (*session).cmdSetMetadata},
		"GENURLAUTH":   {authed, (*session).cmdGenURLAuth},
		"RESETKEY":     {authed, (*session).cmdResetKey},
		"URLFETCH":     {authed, (*session).cmdURLFetch},
	}
}

// exec runs one command, then sends the mailbox updates RFC 9051 7 allows
// at its end and the tagged reply.
func (s *session) exec(c *imapwire.Command) {
	h, ok := commands[c.Name]
	var r result
	switch {
	case !ok:
		r = bad("Unknown command.")
	case h.states&s.state == 0 && s.state == stateNotAuth:
		r = bad("Command not allowed before authentication.")
	case h.states&s.state == 0 && h.states == stateSelected:
		r = bad("No mailbox selected.")
	case h.states&s.state == 0:
		r = bad("Command not allowed in this state.")
	default:
		var refused bool
		if r, refused = s.uidRequired(c); !refused {
			r = h.fn(s, c)
		}
	}
	if c.Name == "APPEND" {
		if err := s.rd.EndAppend(); err != nil && r.status != "BAD" {
			r = bad("Invalid APPEND command ending.")
		}
	}
	if s.quit && r.status == "" {
		return
	}
	if !r.quiet && s.state != stateNotAuth {
		// RFC 9051 7.4.1: no EXPUNGE during FETCH, STORE or SEARCH by
		// message sequence numbers.
		noExpunge := !c.UID && (c.Name == "FETCH" || c.Name == "STORE" || c.Name == "SEARCH" ||
			c.Name == "SORT" || c.Name == "THREAD")
		s.endCommand(c, !noExpunge)
	}
	switch r.status {
	case "OK":
		s.ok(c.Tag, r.code, r.text)
		if c.Name == "COMPRESS" {
			s.startDeflate()
		}
	case "NO":
		s.no(c.Tag, r.code, r.text)
	case "BAD":
		s.bad++
		s.w.Status(c.Tag, "BAD", r.code, r.text)
	}
}

// storeFail maps a store error to a tagged NO. With tryCreate a missing
// folder is [TRYCREATE] (APPEND, COPY, MOVE: RFC 9051 6.3.12).
func (s *session) storeFail(op string, err error, tryCreate bool) result {
	switch {
	case errors.Is(err, store.ErrNoFolder) && tryCreate:
		return fail("TRYCREATE", "Mailbox doesn't exist.")
	case errors.Is(err, store.ErrNoFolder):
		return fail("NONEXISTENT", "Mailbox doesn't exist.")
	case errors.Is(err, store.ErrFolderExists):
		return fail("ALREADYEXISTS", "Mailbox already exists.")
	case errors.Is(err, store.ErrHasChildren):
		return fail("HASCHILDREN", "Mailbox has children, delete them first.")
	case errors.Is(err, store.ErrCannotDelete):
		return fail("CANNOT", "INBOX can't be deleted.")
	case errors.Is(err, store.ErrBadName):
		return fail("CANNOT", "Invalid mailbox name.")
	case errors.Is(err, store.ErrBadSpecialUse):
		return fail("USEATTR", "Unsupported special-use attribute.")
	case errors.Is(err, store.ErrOverQuota):
		return fail("OVERQUOTA", "Quota exceeded (mailbox for user is full).")
	case errors.Is(err, context.Canceled):
		return fail("UNAVAILABLE", "Server shutting down.")
	}
	s.logError(op, err)
	return fail("UNAVAILABLE", "Internal error occurred, try again later.")
}

// capabilities lists what the server offers in the current state.
// UTF8=ACCEPT is not offered: its APPEND data extension (RFC 6855 4) is
// not parsed. ENABLE UTF8=ACCEPT from a client that tries anyway, and
// ENABLE IMAP4rev2, still switch mailbox names to UTF-8.
func (s *session) capabilities() string {
	caps := []string{"IMAP4rev1", "IMAP4rev2", "SASL-IR", "LITERAL+", "ID", "ENABLE", "IDLE"}
	if s.state == stateNotAuth {
		if !s.tls && s.srv.o.TLS != nil {
			caps = append(caps, "STARTTLS")
		}
		caps = append(caps, s.authCapabilities()...)
	}
	caps = append(caps, "NAMESPACE", "UNSELECT", "CHILDREN", "MOVE", "UIDPLUS",
		"SPECIAL-USE", "CREATE-SPECIAL-USE", "BINARY", "CONDSTORE", "QRESYNC", "ESEARCH", "SEARCHRES",
		"LIST-EXTENDED", "LIST-STATUS", "STATUS=SIZE", "QUOTA", "QUOTA=RES-STORAGE",
		"QUOTA=RES-MESSAGE", "SORT", "SORT=DISPLAY", "THREAD=ORDEREDSUBJECT", "THREAD=REFERENCES",
		"ESORT", "PARTIAL", "PREVIEW", "MULTIAPPEND", "CATENATE", "URLAUTH", "UIDONLY", "SAVEDATE", "OBJECTID", "ACL", "RIGHTS=texk", "APPENDLIMIT="+strconv.FormatInt(s.appendLimit(), 10))
	// RFC 5267 4, RFC 5465 (context.go, notify.go).
	caps = append(caps, "CONTEXT=SEARCH", "CONTEXT=SORT", "NOTIFY")
	// RFC 5464 (metadata.go).
	caps = append(caps, "METADATA", "METADATA-SERVER")
	if s.compressAllowed() {
		caps = append(caps, "COMPRESS=DEFLATE")
	}
	return strings.Join(caps, " ")
}

func (s *session) cmdCapability(*imapwire.Command) result {
	s.w.Untagged().Atom("CAPABILITY " + s.capabilities()).End()
	return done("Capability completed.")
}

// cmdNoop serves NOOP and CHECK: the updates are sent by exec.
func (s *session) cmdNoop(c *imapwire.Command) result {
	return done(strings.ToUpper(c.Name[:1]) + strings.ToLower(c.Name[1:]) + " completed.")
}

func (s *session) cmdLogout(*imapwire.Command) result {
	s.w.Status("", "BYE", "", "Logging out")
	s.quit = true
	s.reason = "Logged out"
	return result{status: "OK", text: "Logout completed.", quiet: true}
}

// cmdID answers ID (RFC 2971) with the server's name only.
func (s *session) cmdID(*imapwire.Command) result {
	s.w.Untagged().Atom("ID").Open().String("name").String("Mailwarden").Close().End()
	return done("ID completed.")
}

// cmdEnable turns on extensions (RFC 5161); QRESYNC implies CONDSTORE.
func (s *session) cmdEnable(c *imapwire.Command) result {
	a := c.Args.(*imapwire.EnableArgs)
	var on []string
	for _, name := range a.Caps {
		switch name {
		case "CONDSTORE":
			if !s.condstore {
				s.enableCondstore()
				on = append(on, name)
			}
		case "QRESYNC":
			if !s.qresync {
				s.qresync = true
				on = append(on, name)
			}
			s.enableCondstore()
		case "UTF8=ACCEPT":
			if !s.utf8 {
				s.utf8 = true
				on = append(on, name)
			}
		case "UIDONLY":
			if s.enableUIDOnly() {
				on = append(on, name)
			}
		case "IMAP4REV2":
			if !s.rev2 {
				s.rev2 = true
				on = append(on, "IMAP4rev2")
			}
			s.utf8 = true // RFC 9051 5.1: IMAP4rev2 mailbox names are UTF-8
		}
	}
	s.w.UTF8 = s.utf8
	w := s.w.Untagged().Atom("ENABLED")
	for _, n := range on {
		w.Atom(n)
	}
	w.End()
	return done("Enabled.")
}

func (s *session) cmdNamespace(*imapwire.Command) result {
	// RFC 2342 5: personal, other users', shared (namespace.go).
	w := s.w.Untagged().Atom("NAMESPACE").Open().Open().String("").String(store.Delimiter).Close().Close()
	w.Open().Open().String(otherPrefix).String(sharedDelim).Close().Close()
	w.Open().Open().String(publicPrefix).String(sharedDelim).Close().Close().End()
	return done("Namespace completed.")
}
