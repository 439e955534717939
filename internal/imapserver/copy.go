package imapserver

import (
	"strconv"

	"mailwarden/internal/acl"
	"mailwarden/internal/imapwire"
)

// cmdCopy serves COPY, MOVE and their UID forms (RFC 9051 6.4.7, 6.4.8,
// RFC 6851) with COPYUID (RFC 4315).
func (s *session) cmdCopy(c *imapwire.Command) result {
	a := c.Args.(*imapwire.CopyArgs)
	move := c.Name == "MOVE"
	if move && s.sel.readOnly {
		return fail("READ-ONLY", "Mailbox is read-only.")
	}
	// RFC 6851 3.3 with RFC 4314 4: MOVE is COPY, STORE \Deleted and
	// EXPUNGE, so the source needs "t" and "e".
	if move && !s.sel.at.rights.Has(acl.DeleteMessages|acl.Expunge) {
		return fail("NOPERM", "Permission denied.")
	}
	idx, ok := s.resolve(a.Set, c.UID)
	if !ok {
		return bad("Invalid message sequence number.")
	}
	name, ok := s.storeName(a.Mailbox)
	if !ok {
		return badName()
	}
	// RFC 4314 4: the target needs "i".
	p, err := s.locate(name, true)
	if err != nil {
		return s.storeFail(c.Name, err, false)
	}
	if !p.rights.Has(acl.Insert) {
		return denied(p)
	}
	// Messages another session expunged cannot be copied; skip them.
	uids := s.uidsOf(idx)
	var validity int64
	var src, dst []int64
	var may func(string) bool
	if p.rights != acl.All {
		may = (&mailbox{at: p}).mayStore // RFC 4314 4: flags the target's rights allow
	}
	if move {
		validity, src, dst, err = s.srv.o.Store.MoveTo(s.ctx, s.sel.at.owner, s.sel.name, p.owner, p.folder, uids, p.quota, may)
	} else {
		validity, src, dst, err = s.srv.o.Store.CopyTo(s.ctx, s.sel.at.owner, s.sel.name, p.owner, p.folder, uids, p.quota, may)
	}
	if err != nil {
		return s.storeFail(c.Name, err, p.kind == nsPersonal)
	}
	verb := "Copy"
	if move {
		verb = "Move"
	}
	if len(src) == 0 {
		if len(uids) > 0 {
			return fail("EXPUNGEISSUED", "Some of the requested messages no longer exist.")
		}
		return done("No messages found.")
	}
	code := "COPYUID " + strconv.FormatInt(validity, 10) + " " +
		imapwire.NewSeqSet(toUint32(src)...).String() + " " + imapwire.NewSeqSet(toUint32(dst)...).String()
	if !move {
		return doneCode(code, verb+" completed.")
	}
	// RFC 6851 4.3: COPYUID in an untagged OK before the expunges.
	s.w.Untagged().Atom("OK").Text(code, "Moved UIDs.").End()
	s.expunged(src)
	return done(verb + " completed.")
}
