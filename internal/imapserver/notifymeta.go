package imapserver

import (
	"maps"
	"slices"
	"strings"

	"mailwarden/internal/imapwire"
	"mailwarden/internal/store"
)

// NOTIFY's METADATA events (RFC 5465 5.9 MailboxMetadataChange, 5.10
// ServerMetadataChange): the store publishes the names of the entries
// a SETMETADATA changed (store.MetaChange), and the session sends them
// as an unsolicited METADATA response with the names alone (RFC 5464
// 4.4.2), for a mailbox a filter with MailboxMetadataChange selects and
// the user may read (RFC 5465 5: "l" and "r"), or for the server.
// Another user's private entries never reach a session.

// notifyMetaNote records the entries one EventMetadata changed.
func (s *session) notifyMetaNote(ev store.Event, fromSel bool) {
	n, m := s.notify, ev.Meta
	if m == nil {
		return
	}
	if fromSel {
		// Another watch brings it too (see notifyNote).
		if _, watched := n.owners[ev.Username]; watched || ev.Username == s.acct.Username {
			return
		}
	}
	// RFC 5464 3.3: private entries are their user's alone; they come
	// on that user's watch.
	if m.Private && ev.Username != s.acct.Username {
		return
	}
	k := mboxKey{m.Owner, ev.Folder}
	if ev.Folder == "" {
		if !n.serverMeta {
			return
		}
		k = mboxKey{}
	} else if !n.wants(func(f *notifyFilter) bool { return f.meta }) {
		return
	}
	set := n.meta[k]
	if set == nil {
		if n.meta == nil {
			n.meta = map[mboxKey]map[string]bool{}
		}
		set = map[string]bool{}
		n.meta[k] = set
	}
	for _, e := range m.Entries {
		if set[e] {
			continue
		}
		if n.metaCount >= maxNotifyPending {
			n.overflow = true // RFC 5465 5.8
			return
		}
		set[e] = true
		n.metaCount++
	}
}

// notifyMetaSelf drops what the session's own SETMETADATA changed: RFC
// 5465 5, the server SHOULD NOT tell a client of its own changes. The
// events are in the watches already (the store publishes before
// SETMETADATA answers) and notifySelf drained them.
func (s *session) notifyMetaSelf(c *imapwire.Command) {
	n := s.notify
	a, ok := c.Args.(*imapwire.SetMetadataArgs)
	if !ok || len(n.meta) == 0 {
		return
	}
	var k mboxKey
	if a.Mailbox != "" {
		name, ok := s.storeName(a.Mailbox)
		if !ok {
			return
		}
		p, err := s.locate(name, false)
		if err != nil {
			return
		}
		k = mboxKey{p.owner.Username, p.folder}
	}
	set := n.meta[k]
	for _, v := range a.Values {
		if set[v.Entry] {
			delete(set, v.Entry)
			n.metaCount--
		}
	}
	if set != nil && len(set) == 0 {
		delete(n.meta, k)
	}
}

// notifyMetadata sends "* METADATA mailbox entry..." for what
// notifyMetaNote collected, "" being the server (RFC 5464 4.4.2).
func (s *session) notifyMetadata(n *notifyState) {
	keys := slices.SortedFunc(maps.Keys(n.meta), func(a, b mboxKey) int {
		return strings.Compare(a.owner+"\x00"+a.folder, b.owner+"\x00"+b.folder)
	})
	for _, k := range keys {
		entries := slices.Sorted(maps.Keys(n.meta[k]))
		delete(n.meta, k)
		n.metaCount -= len(entries)
		name := ""
		if k != (mboxKey{}) {
			// Read afresh: a right taken away, or a filter that no
			// longer selects the mailbox, stops its events.
			p, ok := s.placeOf(k)
			if !ok {
				continue
			}
			name = s.nameOf(p)
			if f := s.notifyMatch(n, name); f == nil || !f.meta {
				continue
			}
		}
		w := s.w.Untagged().Atom("METADATA")
		if name == "" {
			w.String("")
		} else {
			s.mailbox(w, name)
		}
		for _, e := range entries {
			w.AString(e)
		}
		w.End()
	}
}
