package imapserver

import (
	"errors"
	"slices"
	"sort"
	"strings"

	"mailwarden/internal/imapwire"
	"mailwarden/internal/store"
)

// systemFlags are the flags every mailbox offers (RFC 9051 2.3.2).
var systemFlags = []string{`\Answered`, `\Flagged`, `\Deleted`, `\Seen`, `\Draft`}

// mailbox is the selected mailbox as the client knows it: its messages in
// sequence order (sequence number = index+1) with cached flags and
// MODSEQs, and the changes the store reported that the client has not
// been told yet.
type mailbox struct {
	name     string // store name
	readOnly bool
	info     store.FolderInfo
	msgs     []store.Msg
	exists   int   // the EXISTS count the client was told
	modseq   int64 // the store's HIGHESTMODSEQ at the last refresh
	dirty    bool  // the store changed since the last refresh
	gone     map[int64]bool
	changed  map[int64]bool
	keywords []string // keywords announced in FLAGS, sorted
	newKW    bool     // keywords must be announced again
}

func newMailbox(name string, readOnly bool, msgs []store.Msg, info store.FolderInfo) *mailbox {
	m := &mailbox{
		name: name, readOnly: readOnly, info: info, msgs: msgs, exists: len(msgs),
		modseq: info.HighestModSeq, gone: map[int64]bool{}, changed: map[int64]bool{},
	}
	for _, msg := range msgs {
		m.noteKeywords(msg.Flags)
	}
	m.newKW = false
	return m
}

// index returns the index of uid in msgs, or -1.
func (m *mailbox) index(uid int64) int {
	i := sort.Search(len(m.msgs), func(i int) bool { return m.msgs[i].UID >= uid })
	if i < len(m.msgs) && m.msgs[i].UID == uid {
		return i
	}
	return -1
}

// maxUID is the largest UID in the view, 0 when empty.
func (m *mailbox) maxUID() int64 {
	if len(m.msgs) == 0 {
		return 0
	}
	return m.msgs[len(m.msgs)-1].UID
}

// noteKeywords records keywords not yet announced.
func (m *mailbox) noteKeywords(flags []string) {
	for _, f := range flags {
		if strings.HasPrefix(f, `\`) {
			continue
		}
		i, found := slices.BinarySearch(m.keywords, f)
		if !found {
			m.keywords = slices.Insert(m.keywords, i, f)
			m.newKW = true
		}
	}
}

// flagList is FLAGS: system flags and the keywords in use.
func (m *mailbox) flagList() []string {
	return append(slices.Clone(systemFlags), m.keywords...)
}

// permanentFlags is PERMANENTFLAGS: nothing in a read-only mailbox.
func (m *mailbox) permanentFlags() []string {
	if m.readOnly {
		return []string{}
	}
	return append(m.flagList(), `\*`)
}

// setMsg replaces the cached state of a message after this session
// changed it; it returns false when the message is not in the view.
func (m *mailbox) setMsg(msg store.Msg) bool {
	i := m.index(msg.UID)
	if i < 0 {
		return false
	}
	m.msgs[i] = msg
	m.noteKeywords(msg.Flags)
	delete(m.changed, msg.UID)
	return true
}

// pollEvents takes the store events waiting for this session and notes
// whether the selected mailbox changed.
func (s *session) pollEvents() {
	for {
		select {
		case ev, ok := <-s.events:
			if !ok {
				s.events = nil
				return
			}
			s.noteEvent(ev)
		default:
			return
		}
	}
}

func (s *session) noteEvent(ev store.Event) {
	if s.sel == nil {
		return
	}
	if ev.Kind == store.EventResync || ev.Folder == s.sel.name {
		s.sel.dirty = true
	}
}

// refresh reads what changed in the store since the last refresh into the
// view: new messages join it at once; flag changes and expunges wait for
// update to be announced.
func (s *session) refresh() error {
	m := s.sel
	changed, vanished, info, err := s.srv.o.Store.Changes(s.ctx, s.acct, m.name, m.modseq)
	if err != nil {
		return err
	}
	m.dirty = false
	m.modseq = info.HighestModSeq
	m.info = info
	top := m.maxUID()
	for _, c := range changed {
		if c.UID > top {
			m.msgs = append(m.msgs, c)
			m.noteKeywords(c.Flags)
			top = c.UID
			continue
		}
		i := m.index(c.UID)
		if i < 0 || m.gone[c.UID] || m.msgs[i].ModSeq == c.ModSeq {
			continue
		}
		if !slices.Equal(m.msgs[i].Flags, c.Flags) {
			m.changed[c.UID] = true
			m.noteKeywords(c.Flags)
		}
		m.msgs[i] = c
	}
	for _, uid := range vanished {
		if m.index(uid) >= 0 {
			m.gone[uid] = true
			delete(m.changed, uid)
		}
	}
	return nil
}

// update tells the client what changed in the selected mailbox: new
// keywords, expunges (only when expunge is set, RFC 9051 7.4.1), the
// new message count and flag changes made by other sessions.
func (s *session) update(expunge bool) {
	s.pollEvents()
	m := s.sel
	if m == nil {
		return
	}
	if m.dirty {
		if err := s.refresh(); err != nil {
			if errors.Is(err, store.ErrNoFolder) {
				s.bye("Selected mailbox was deleted, have to disconnect.")
				s.quit = true
				s.reason = "Selected mailbox was deleted"
				return
			}
			s.logError("sync", err)
			return
		}
	}
	if m.newKW {
		m.newKW = false
		s.w.Untagged().Atom("FLAGS").Flags(m.flagList()).End()
		s.w.Untagged().Atom("OK").Text("PERMANENTFLAGS "+flagString(m.permanentFlags()), "Flags permitted.").End()
	}
	if expunge && len(m.gone) > 0 {
		s.sendExpunges()
	}
	if len(m.msgs) > m.exists {
		m.exists = len(m.msgs)
		s.w.Untagged().Num(uint32(m.exists)).Atom("EXISTS").End()
	}
	if len(m.changed) > 0 {
		for i, msg := range m.msgs {
			if m.changed[msg.UID] {
				s.writeFlagsFetch(uint32(i+1), msg, false)
			}
		}
		clear(m.changed)
	}
}

// sendExpunges announces and removes the messages in m.gone: "* n
// EXPUNGE" from the highest sequence number down, so that each number is
// right when sent, or one VANISHED with QRESYNC (RFC 7162 3.2.10).
func (s *session) sendExpunges() {
	m := s.sel
	var uids []uint32
	kept := m.msgs[:0]
	var seqs []int
	for i, msg := range m.msgs {
		if m.gone[msg.UID] {
			seqs = append(seqs, i+1)
			uids = append(uids, uint32(msg.UID))
			continue
		}
		kept = append(kept, msg)
	}
	if s.qresync {
		s.w.Untagged().Atom("VANISHED").SeqSet(imapwire.NewSeqSet(uids...)).End()
	} else {
		for i := len(seqs) - 1; i >= 0; i-- {
			s.w.Untagged().Num(uint32(seqs[i])).Atom("EXPUNGE").End()
		}
	}
	clear(m.msgs[len(kept):])
	m.msgs = kept
	m.exists -= len(seqs)
	clear(m.gone)
}

// expunged marks UIDs this session expunged (EXPUNGE, MOVE) and
// announces them at once.
func (s *session) expunged(uids []int64) {
	m := s.sel
	for _, u := range uids {
		if m.index(u) >= 0 {
			m.gone[u] = true
			delete(m.changed, u)
		}
	}
	if len(m.gone) > 0 {
		s.sendExpunges()
	}
}

// writeFlagsFetch sends "* n FETCH (UID u FLAGS (...) [MODSEQ (m)])".
func (s *session) writeFlagsFetch(seq uint32, msg store.Msg, noFlags bool) {
	w := s.w.Untagged().Num(seq).Atom("FETCH").Open().Atom("UID").Num(uint32(msg.UID))
	if !noFlags {
		w.Atom("FLAGS").Flags(msg.Flags)
	}
	if s.condstore {
		w.Atom("MODSEQ").Open().Num64(uint64(msg.ModSeq)).Close()
	}
	w.Close().End()
}

func flagString(flags []string) string {
	return "(" + strings.Join(flags, " ") + ")"
}
