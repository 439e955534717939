package imapserver

import (
	"strconv"

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
	idx, ok := s.resolve(a.Set, c.UID)
	if !ok {
		return bad("Invalid message sequence number.")
	}
	to, ok := s.storeName(a.Mailbox)
	if !ok {
		return badName()
	}
	// Messages another session expunged cannot be copied; skip them.
	uids := s.uidsOf(idx)
	var validity int64
	var src, dst []int64
	var err error
	if move {
		validity, src, dst, err = s.srv.o.Store.Move(s.ctx, s.acct, s.sel.name, to, uids)
	} else {
		validity, src, dst, err = s.srv.o.Store.Copy(s.ctx, s.acct, s.sel.name, to, uids, s.mb.Quota)
	}
	if err != nil {
		return s.storeFail(c.Name, err, true)
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
