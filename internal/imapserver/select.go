package imapserver

import (
	"math"
	"strconv"

	"mailwarden/internal/acl"
	"mailwarden/internal/imapwire"
)

// closeMailbox leaves the selected state without expunging.
func (s *session) closeMailbox() {
	s.sel = nil
	s.stopOwnerWatch()
	s.saved = nil
	if s.state == stateSelected {
		s.state = stateAuth
	}
}

// cmdSelect serves SELECT and EXAMINE (RFC 9051 6.3.2, 6.3.3) with the
// CONDSTORE and QRESYNC parameters (RFC 7162 3.1.8, 3.2.5).
func (s *session) cmdSelect(c *imapwire.Command) result {
	a := c.Args.(*imapwire.SelectArgs)
	if a.QResync != nil && !s.qresync {
		return bad("QRESYNC isn't enabled.")
	}
	// Failed or not, SELECT closes the mailbox selected before.
	if s.sel != nil {
		s.closeMailbox()
		if s.qresync || s.rev2 {
			s.w.Untagged().Atom("OK").Text("CLOSED", "Previous mailbox closed.").End()
		}
	}
	// RFC 4314 4: SELECT and EXAMINE need "r".
	p, r, ok := s.target(c.Name, a.Mailbox, acl.Read)
	if !ok {
		return r
	}
	if a.CondStore {
		s.condstore = true
	}
	s.watchOwner(p.owner.Username) // before the snapshot, so no change is missed
	s.pollEvents()                 // stale: the snapshot below is newer
	// Without a right to change anything, SELECT is read-only (as
	// Dovecot's acl plugin has it).
	readOnly := a.ReadOnly || !p.rights.Any(acl.Insert|acl.Expunge|acl.Write|acl.Seen|acl.DeleteMessages)
	m, err := s.openMailbox(s.ctx, p, readOnly)
	if err != nil {
		s.stopOwnerWatch()
		return s.storeFail(c.Name, err, false)
	}
	m.full = s.nameOf(p)
	info := m.info
	name := m.full
	s.claimRecent(m, 1)
	w := s.w
	w.Untagged().Atom("FLAGS").Flags(m.flagList()).End()
	w.Untagged().Atom("OK").Text("PERMANENTFLAGS "+flagString(m.permanentFlags()), "Flags permitted.").End()
	w.Untagged().Num(uint32(m.count())).Atom("EXISTS").End()
	if !s.rev2 {
		m.recentTold = m.recentCount()
		w.Untagged().Num(uint32(m.recentTold)).Atom("RECENT").End()
		for i := range m.count() {
			if s.uidOnly {
				break // RFC 9586: [UNSEEN n] is a sequence number
			}
			if !hasFlag(m.flagsAt(i), `\Seen`) {
				w.Untagged().Atom("OK").Text("UNSEEN "+strconv.Itoa(i+1), "First unseen.").End()
				break
			}
		}
	}
	w.Untagged().Atom("OK").Text("UIDVALIDITY "+strconv.FormatInt(info.UIDValidity, 10), "UIDs valid").End()
	w.Untagged().Atom("OK").Text("UIDNEXT "+strconv.FormatInt(info.UIDNext, 10), "Predicted next UID").End()
	w.Untagged().Atom("OK").Text("HIGHESTMODSEQ "+strconv.FormatInt(info.HighestModSeq, 10), "Highest").End()
	s.writeSelectMailboxID(p)
	if s.rev2 {
		s.mailbox(w.Untagged().Atom("LIST").List().String(p.delimiter()), name).End()
	}
	if q := a.QResync; q != nil && int64(q.UIDValidity) == info.UIDValidity {
		if r, ok := s.qresyncSelect(m, q); !ok {
			s.stopOwnerWatch()
			return r
		}
	}
	s.sel = m
	s.state = stateSelected
	if m.readOnly {
		if !a.ReadOnly {
			return doneCode("READ-ONLY", "Select completed.")
		}
		return doneCode("READ-ONLY", "Examine completed.")
	}
	return doneCode("READ-WRITE", "Select completed.")
}

// qresyncSelect sends what changed since the client's last sync (RFC 7162
// 3.2.5.1): VANISHED (EARLIER) for expunged UIDs it knew and FETCH for
// messages changed after its MODSEQ.
func (s *session) qresyncSelect(m *mailbox, q *imapwire.QResyncArgs) (result, bool) {
	known := func(uid int64) bool {
		return q.KnownUIDs.IsEmpty() || q.KnownUIDs.Contains(uint32(uid), math.MaxUint32)
	}
	if int64(q.ModSeq) < m.modseq {
		_, vanished, _, err := s.srv.o.Store.Changes(s.ctx, m.at.owner, m.name, int64(q.ModSeq))
		if err != nil {
			return s.storeFail("SELECT", err, false), false
		}
		var uids []uint32
		for _, u := range vanished {
			// A UID still in the snapshot went after it: a later update
			// announces it.
			if known(u) && m.index(u) < 0 {
				uids = append(uids, uint32(u))
			}
		}
		if len(uids) > 0 {
			s.w.Untagged().Atom("VANISHED").Open().Atom("EARLIER").Close().SeqSet(imapwire.NewSeqSet(uids...)).End()
		}
	}
	for i, u := range m.uids {
		if m.modseqs[i] > q.ModSeq && known(int64(u)) {
			s.writeFlagsFetch(uint32(i+1), m.state(i), false)
		}
	}
	return result{}, true
}

// cmdClose expunges silently unless read-only (RFC 9051 6.4.1).
func (s *session) cmdClose(c *imapwire.Command) result {
	// RFC 4314 4: CLOSE expunges only with "e".
	if !s.sel.readOnly && s.sel.at.rights.Has(acl.Expunge) {
		if _, err := s.srv.o.Store.Expunge(s.ctx, s.sel.at.owner, s.sel.name, nil); err != nil {
			s.logError("CLOSE", err)
		}
	}
	s.closeMailbox()
	return result{status: "OK", text: "Close completed.", quiet: true}
}

func (s *session) cmdUnselect(*imapwire.Command) result {
	s.closeMailbox()
	return result{status: "OK", text: "Unselect completed.", quiet: true}
}
