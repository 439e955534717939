package imapserver

import (
	"mailwarden/internal/acl"
	"mailwarden/internal/imapwire"
)

// ownerName is the identifier of a place's owner as GETACL shows it; ""
// for a shared mailbox of the domain, which has no owner.
func ownerName(p place) string {
	if p.kind == nsPublic {
		return ""
	}
	return p.owner.Username
}

// adminTarget resolves the mailbox of an ACL command that needs the "a"
// right (RFC 4314 4: SETACL, DELETEACL, GETACL, LISTRIGHTS).
func (s *session) adminTarget(c *imapwire.Command) (*imapwire.ACLArgs, place, result, bool) {
	a := c.Args.(*imapwire.ACLArgs)
	p, r, ok := s.target(c.Name, a.Mailbox, 0)
	if !ok {
		return a, p, r, false
	}
	if !p.rights.Has(acl.Admin) {
		if !p.rights.Has(acl.Lookup) {
			return a, p, denied(p), false // RFC 4314 6
		}
		return a, p, fail("NOPERM", "You lack administrator privileges on this mailbox."), false
	}
	if p.kind == nsPersonal {
		// A folder of one's own: it must exist.
		if _, err := s.srv.o.Store.Folder(s.ctx, p.owner, p.folder); err != nil {
			return a, p, s.storeFail(c.Name, err, false), false
		}
	}
	return a, p, result{}, true
}

// identifier checks the identifier argument of SETACL and DELETEACL; the
// owner's rights cannot be changed (it always has them all).
func (s *session) identifier(p place, id string) (string, result, bool) {
	name, _, err := acl.Identifier(id)
	if err != nil {
		return "", bad(err.Error()), false
	}
	if o := ownerName(p); o != "" && (name == o || name == "-"+o) {
		return "", fail("CANNOT", "The owner of a mailbox always has every right."), false
	}
	return name, result{}, true
}

// cmdSetACL serves SETACL (RFC 4314 3.1): "+rights" adds, "-rights"
// removes, plain rights replace; "-identifier" names negative rights.
func (s *session) cmdSetACL(c *imapwire.Command) result {
	a, p, r, ok := s.adminTarget(c)
	if !ok {
		return r
	}
	id, r, ok := s.identifier(p, a.Identifier)
	if !ok {
		return r
	}
	mode, rights, err := acl.ParseModify(a.Rights)
	if err != nil {
		return bad(err.Error())
	}
	if _, err := s.srv.o.Store.SetACL(s.ctx, p.owner, p.folder, id, mode, rights); err != nil {
		return s.storeFail("SETACL", err, false)
	}
	return done("Setacl complete.")
}

// cmdDeleteACL serves DELETEACL (RFC 4314 3.2).
func (s *session) cmdDeleteACL(c *imapwire.Command) result {
	a, p, r, ok := s.adminTarget(c)
	if !ok {
		return r
	}
	id, r, ok := s.identifier(p, a.Identifier)
	if !ok {
		return r
	}
	if err := s.srv.o.Store.DeleteACL(s.ctx, p.owner, p.folder, id); err != nil {
		return s.storeFail("DELETEACL", err, false)
	}
	return done("Deleteacl complete.")
}

// cmdGetACL serves GETACL (RFC 4314 3.3): for the owner, itself with
// every right, then the entries; another user with the "a" right sees
// the entries only, as with Dovecot.
func (s *session) cmdGetACL(c *imapwire.Command) result {
	a, p, r, ok := s.adminTarget(c)
	if !ok {
		return r
	}
	entries, err := s.srv.o.Store.ACL(s.ctx, p.owner, p.folder)
	if err != nil {
		return s.storeFail("GETACL", err, false)
	}
	name, _ := s.storeName(a.Mailbox)
	w := s.mailbox(s.w.Untagged().Atom("ACL"), name)
	if p.kind == nsPersonal {
		w.AString(p.owner.Username).AString(acl.All.String())
	}
	for _, e := range entries {
		w.AString(e.Identifier).AString(e.Rights.String())
	}
	w.End()
	return done("Getacl completed.")
}

// cmdListRights serves LISTRIGHTS (RFC 4314 3.4): no right is tied to
// another, so every right may be granted alone; the owner always has
// them all.
func (s *session) cmdListRights(c *imapwire.Command) result {
	a, p, r, ok := s.adminTarget(c)
	if !ok {
		return r
	}
	name, _ := s.storeName(a.Mailbox)
	w := s.mailbox(s.w.Untagged().Atom("LISTRIGHTS"), name).AString(a.Identifier)
	if id, _, err := acl.Identifier(a.Identifier); err == nil && id == ownerName(p) {
		w.AString(acl.All.String()).End()
		return done("Listrights completed.")
	}
	w.String("")
	for _, l := range []byte("lrwstpiekxacd") {
		w.Atom(string(l))
	}
	w.End()
	return done("Listrights completed.")
}

// cmdMyRights serves MYRIGHTS (RFC 4314 3.5). It needs no right beyond
// knowing the mailbox.
func (s *session) cmdMyRights(c *imapwire.Command) result {
	a := c.Args.(*imapwire.ACLArgs)
	p, r, ok := s.target(c.Name, a.Mailbox, 0)
	if !ok {
		return r
	}
	if p.kind == nsPersonal {
		if _, err := s.srv.o.Store.Folder(s.ctx, p.owner, p.folder); err != nil {
			return s.storeFail("MYRIGHTS", err, false)
		}
	}
	name, _ := s.storeName(a.Mailbox)
	s.mailbox(s.w.Untagged().Atom("MYRIGHTS"), name).AString(p.rights.String()).End()
	return done("Myrights completed.")
}
