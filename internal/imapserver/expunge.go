package imapserver

import (
	"strconv"

	"mailwarden/internal/acl"
	"mailwarden/internal/imapwire"
)

// cmdExpunge serves EXPUNGE (RFC 9051 6.4.3) and UID EXPUNGE (RFC 4315
// 2.1), which removes only the \Deleted messages of its set.
func (s *session) cmdExpunge(c *imapwire.Command) result {
	if s.sel.readOnly {
		return fail("READ-ONLY", "Mailbox is read-only.")
	}
	if !s.sel.at.rights.Has(acl.Expunge) {
		return fail("NOPERM", "Permission denied.") // RFC 4314 4
	}
	// Bring the view up to date first, so that \Deleted is current.
	s.update(true)
	if s.quit {
		return result{quiet: true}
	}
	var uids []int64
	if c.UID {
		a := c.Args.(*imapwire.ExpungeArgs)
		idx, _ := s.resolve(a.Set, true)
		for _, i := range idx {
			if hasFlag(s.sel.flagsAt(i), `\Deleted`) {
				uids = append(uids, s.sel.uid(i))
			}
		}
		if len(uids) == 0 {
			return s.expungeDone()
		}
	}
	gone, err := s.srv.o.Store.Expunge(s.ctx, s.sel.at.owner, s.sel.name, uids)
	if err != nil {
		return s.storeFail("EXPUNGE", err, false)
	}
	s.expunged(gone)
	return s.expungeDone()
}

// expungeDone reports the new HIGHESTMODSEQ to a CONDSTORE client (RFC
// 7162 3.2.10 recommends it after expunges).
func (s *session) expungeDone() result {
	s.update(true)
	if s.condstore && s.sel != nil {
		return result{status: "OK", code: "HIGHESTMODSEQ " + strconv.FormatInt(s.sel.modseq, 10), text: "Expunge completed.", quiet: true}
	}
	return result{status: "OK", text: "Expunge completed.", quiet: true}
}
