package imapserver

import (
	"errors"
	"sort"
	"strconv"
	"strings"

	"mailwarden/internal/acl"
	"mailwarden/internal/imapwire"
	"mailwarden/internal/store"
)

// METADATA and METADATA-SERVER (RFC 5464): entries on folders and on the
// server (mailbox ""), stored by the store (store/metadata.go). The
// server's /shared entries are the administrator's: /shared/admin comes
// from the configuration (imap.metadata_admin), and IMAP cannot change
// them. Rights on a folder (RFC 5464 3.3, RFC 4314): any access needs
// "l"; reading /shared entries needs "r" and changing them "w"; one's
// /private entries need nothing more.

// metaTarget is what GETMETADATA/SETMETADATA work on: the server, or a
// folder and the user's rights on it.
type metaTarget struct {
	server bool
	at     place
}

// metaLocate resolves the mailbox argument; "" is the server.
func (s *session) metaLocate(op, wire string) (metaTarget, result, bool) {
	if wire == "" {
		return metaTarget{server: true}, result{}, true
	}
	p, r, ok := s.target(op, wire, acl.Lookup)
	return metaTarget{at: p}, r, ok
}

// isShared reports whether an entry (or entry prefix) is under /shared.
func isShared(entry string) bool { return entry == "/shared" || strings.HasPrefix(entry, "/shared/") }

// metaEntries returns every entry of t the user sees, sorted by name,
// with the server's configured ones.
func (s *session) metaEntries(t metaTarget) ([]store.MetaEntry, error) {
	owner, folder := s.acct, ""
	if !t.server {
		owner, folder = t.at.owner, t.at.folder
	}
	es, err := s.srv.o.Store.Metadata(s.ctx, owner, folder, s.acct.Username)
	if err != nil || !t.server {
		return es, err
	}
	// RFC 5464 6.2.2: /shared/admin, a URI for the administrator.
	admin := s.cfg.IMAP.MetadataAdmin
	if admin == "" {
		admin = "mailto:postmaster@" + s.cfg.Hostname
	}
	es = append(es, store.MetaEntry{Name: "/shared/admin", Value: []byte(admin)})
	sort.SliceStable(es, func(i, j int) bool { return es[i].Name < es[j].Name })
	return es, nil
}

// cmdGetMetadata serves GETMETADATA (RFC 5464 4.2) with MAXSIZE (4.2.1)
// and DEPTH (4.2.2).
func (s *session) cmdGetMetadata(c *imapwire.Command) result {
	a := c.Args.(*imapwire.GetMetadataArgs)
	t, r, ok := s.metaLocate(c.Name, a.Mailbox)
	if !ok {
		return r
	}
	if !t.server && !t.at.rights.Has(acl.Read) {
		for _, e := range a.Entries {
			if isShared(e) {
				return fail("NOPERM", "Permission denied.")
			}
		}
	}
	all, err := s.metaEntries(t)
	if err != nil {
		return s.storeFail(c.Name, err, false)
	}
	type answer struct {
		name  string
		value []byte
		nil   bool
	}
	var out []answer
	seen := map[string]bool{}
	var long int
	add := func(e store.MetaEntry) {
		if seen[e.Name] {
			return
		}
		seen[e.Name] = true
		if a.HasMaxSize && len(e.Value) > int(a.MaxSize) {
			long = max(long, len(e.Value)) // RFC 5464 4.2.1: LONGENTRIES
			return
		}
		out = append(out, answer{name: e.Name, value: e.Value})
	}
	for _, want := range a.Entries {
		found := false
		for _, e := range all {
			if e.Name == want {
				found = true
				add(e)
			}
		}
		// An entry that does not exist is NIL, unless DEPTH asked for
		// what is below it (as Dovecot answers).
		if !found && a.Depth == 0 && !seen[want] {
			seen[want] = true
			out = append(out, answer{name: want, nil: true})
		}
		if a.Depth == 0 {
			continue
		}
		for _, e := range all {
			rest, below := strings.CutPrefix(e.Name, want+"/")
			if below && (a.Depth == imapwire.DepthInfinity || !strings.Contains(rest, "/")) {
				add(e)
			}
		}
	}
	if len(out) > 0 {
		w := s.w.Untagged().Atom("METADATA")
		if t.server {
			w.String("")
		} else {
			s.mailbox(w, s.nameOf(t.at))
		}
		w.Open()
		for _, e := range out {
			w.AString(e.name)
			switch {
			case e.nil:
				w.NIL()
			case strings.IndexByte(string(e.value), 0) >= 0:
				w.LiteralFrom(strings.NewReader(string(e.value)), int64(len(e.value)), true) // literal8
			default:
				w.String(string(e.value))
			}
		}
		w.Close().End()
	}
	if long > 0 {
		return doneCode("METADATA LONGENTRIES "+strconv.Itoa(long), "Getmetadata completed.")
	}
	return done("Getmetadata completed.")
}

// cmdSetMetadata serves SETMETADATA (RFC 5464 4.3): every entry is set
// or none.
func (s *session) cmdSetMetadata(c *imapwire.Command) result {
	a := c.Args.(*imapwire.SetMetadataArgs)
	t, r, ok := s.metaLocate(c.Name, a.Mailbox)
	if !ok {
		return r
	}
	limit := int(s.cfg.IMAP.MetadataMaxValueSize)
	changes := make([]store.MetaEntry, 0, len(a.Values))
	for _, v := range a.Values {
		switch {
		case t.server && isShared(v.Entry):
			return fail("CANNOT", "The server's shared entries are set by the administrator.")
		case !t.server && isShared(v.Entry) && !t.at.rights.Has(acl.Write):
			return fail("NOPERM", "Permission denied.")
		case len(v.Value) > limit:
			return fail("METADATA MAXSIZE "+strconv.Itoa(limit), "Metadata value too big.")
		}
		changes = append(changes, store.MetaEntry{Name: v.Entry, Value: v.Value, Remove: v.Nil})
	}
	owner, folder := s.acct, ""
	if !t.server {
		owner, folder = t.at.owner, t.at.folder
	}
	err := s.srv.o.Store.SetMetadata(s.ctx, owner, folder, s.acct.Username, changes, s.cfg.IMAP.MetadataMaxEntries)
	if errors.Is(err, store.ErrMetaTooMany) {
		return fail("METADATA TOOMANY", "Too many metadata entries.")
	}
	if err != nil {
		return s.storeFail(c.Name, err, false)
	}
	return done("Setmetadata completed.")
}
