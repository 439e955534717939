package imapserver

import (
	"mailwarden/internal/imapwire"
)

// UIDONLY (RFC 9586): once a client enables it, message sequence numbers
// are gone from the session both ways. Commands that take them are
// refused with BAD [UIDREQUIRED] (uidRequired), FETCH responses become
// "* uid UIDFETCH (...)" (fetchStart), expunges are announced with
// VANISHED (sendExpunges) and SELECT leaves out [UNSEEN n]. EXISTS and
// RECENT are counts, not sequence numbers, and stay.

// enableUIDOnly turns UIDONLY on, unless a mailbox is selected: ENABLE
// belongs to the authenticated state (RFC 5161 3), and a client that
// tracked sequence numbers for the selected mailbox would lose them
// mid-way. It reports whether the mode was newly enabled.
func (s *session) enableUIDOnly() bool {
	if s.uidOnly || s.sel != nil {
		return false
	}
	s.uidOnly = true
	return true
}

// uidRequired is the refusal of a command that uses message sequence
// numbers once UIDONLY is on (RFC 9586 3): FETCH, STORE, SEARCH, COPY,
// MOVE, SORT and THREAD without UID, a sequence set among the search
// keys of their UID forms ("$", the saved UIDs, is fine), and the
// sequence match data of SELECT's QRESYNC parameter.
func (s *session) uidRequired(c *imapwire.Command) (result, bool) {
	if !s.uidOnly {
		return result{}, false
	}
	refuse := func(text string) (result, bool) {
		return result{status: "BAD", code: "UIDREQUIRED", text: text}, true
	}
	switch c.Name {
	case "FETCH", "STORE", "SEARCH", "COPY", "MOVE", "SORT", "THREAD":
		if !c.UID {
			return refuse("Message sequence numbers are not allowed once UIDONLY is enabled, use UID " + c.Name + ".")
		}
	}
	var key *imapwire.SearchKey
	switch a := c.Args.(type) {
	case *imapwire.SearchArgs:
		key = &a.Key
	case *imapwire.SortArgs:
		key = &a.Key
	case *imapwire.ThreadArgs:
		key = &a.Key
	case *imapwire.SelectArgs:
		if q := a.QResync; q != nil && (!q.KnownSeqNums.IsEmpty() || !q.KnownSeqUIDs.IsEmpty()) {
			return refuse("Message sequence match data is not allowed once UIDONLY is enabled.")
		}
	}
	if key != nil && hasSeqKey(key) {
		return refuse("Message sequence numbers are not allowed in search criteria once UIDONLY is enabled, use UID <set>.")
	}
	return result{}, false
}

// hasSeqKey reports whether a search program holds a sequence-set key.
func hasSeqKey(k *imapwire.SearchKey) bool {
	if k.Op == imapwire.SearchSeq && !k.Set.Saved {
		return true
	}
	for i := range k.Children {
		if hasSeqKey(&k.Children[i]) {
			return true
		}
	}
	return false
}

// fetchStart opens an untagged FETCH response for the message at seq:
// "* seq FETCH (", or "* uid UIDFETCH (" under UIDONLY (RFC 9586 3.3),
// whose UID item the caller then leaves out unless the client asked for
// it by name.
func (s *session) fetchStart(seq, uid uint32) *imapwire.Writer {
	if s.uidOnly {
		return s.w.Untagged().Num(uid).Atom("UIDFETCH").Open()
	}
	return s.w.Untagged().Num(seq).Atom("FETCH").Open()
}
