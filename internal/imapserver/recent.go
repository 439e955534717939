package imapserver

import "slices"

// recentFlag is the session flag of RFC 3501 2.3.2, which IMAP4rev2
// dropped (RFC 9051 E.1): IMAP4rev1 sessions still see it.
const recentFlag = `\Recent`

// uidRange is the UIDs lo <= uid < hi.
type uidRange struct{ lo, hi uint32 }

// claimRecent gives the session the \Recent flag of the view's messages
// from UID from up that no other session has seen yet (RFC 3501 2.3.2:
// the first session to be told of a message gets it). The claim is made
// in SQL, so that sessions of every node agree. EXAMINE only looks: it
// shows the unclaimed messages as recent and leaves them so (RFC 3501
// 6.3.2). IMAP4rev2 sessions neither see nor take the flag.
func (s *session) claimRecent(m *mailbox, from int64) {
	if s.rev2 {
		return
	}
	upto := m.maxUID() + 1
	if from >= upto {
		return
	}
	first := m.info.RecentUID
	if !m.readOnly {
		var err error
		if first, err = s.srv.o.Store.ClaimRecent(s.ctx, m.at.owner, m.name, upto); err != nil {
			s.logError("recent", err)
			return
		}
	}
	lo := max(first, from)
	if lo < upto {
		m.recent = append(m.recent, uidRange{uint32(lo), uint32(upto)})
	}
}

// isRecent reports whether the session holds uid as recent.
func (m *mailbox) isRecent(uid uint32) bool {
	for _, r := range m.recent {
		if uid >= r.lo && uid < r.hi {
			return true
		}
	}
	return false
}

// recentCount is the number of messages in the view with \Recent.
func (m *mailbox) recentCount() int {
	n := 0
	for _, r := range m.recent {
		lo, _ := slices.BinarySearch(m.uids, r.lo)
		hi, _ := slices.BinarySearch(m.uids, r.hi)
		n += hi - lo
	}
	return n
}

// writeRecent sends "* n RECENT" to IMAP4rev1 sessions (RFC 3501 7.3.2)
// at SELECT (always) or when the count changed since they were told.
func (s *session) writeRecent(always bool) {
	m := s.sel
	if s.rev2 {
		return
	}
	if n := m.recentCount(); always || n != m.recentTold {
		m.recentTold = n
		s.w.Untagged().Num(uint32(n)).Atom("RECENT").End()
	}
}

// withRecent returns flags with \Recent added.
func withRecent(flags []string) []string {
	out := make([]string, 0, len(flags)+1)
	return append(append(out, flags...), recentFlag)
}
