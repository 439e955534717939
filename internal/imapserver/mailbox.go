package imapserver

import (
	"errors"
	"math"
	"slices"
	"strconv"
	"strings"

	"mailwarden/internal/acl"
	"mailwarden/internal/imapwire"
	"mailwarden/internal/store"
)

// systemFlags are the flags every mailbox offers (RFC 9051 2.3.2).
var systemFlags = []string{`\Answered`, `\Flagged`, `\Deleted`, `\Seen`, `\Draft`}

// mailbox is the selected mailbox as the client knows it: its messages in
// sequence order (sequence number = index+1) with cached flags and
// MODSEQs, and the changes the store reported that the client has not
// been told yet. Per message it keeps only what the session needs between
// commands, in three parallel slices (16 bytes a message): the UID, the
// MODSEQ and a handle to the interned flag list. Sizes, dates and file
// names are read from the store by the FETCH or SEARCH that needs them.
// The three slices may be a snapshot other sessions share (base, see
// sharedview.go): call own before changing them in place or appending.
type mailbox struct {
	name     string // store name of the folder in its owner's tree
	at       place  // whose folder, and the session user's rights on it
	full     string // the store-form IMAP name (nameOf(at))
	readOnly bool
	info     store.FolderInfo
	uids     []uint32 // ascending
	modseqs  []uint64
	flags    []flagSet
	base     *sharedView // the snapshot the slices are, nil when they are the session's
	exists   int         // the EXISTS count the client was told
	modseq   int64       // the store's HIGHESTMODSEQ at the last refresh
	dirty    bool        // the store changed since the last refresh
	gone     map[int64]bool
	changed  map[int64]bool
	keywords []string // keywords announced in FLAGS, sorted
	newKW    bool     // keywords must be announced again

	local    [][]string // flag lists of localSet handles
	localIDs map[string]flagSet

	recent     []uidRange // UIDs the session holds as \Recent (recent.go)
	recentTold int        // the RECENT count the client was told
}

// msgState is what the view holds of one message, its flags resolved.
type msgState struct {
	uid    uint32
	modseq uint64
	flags  []string
}

func newMailbox(name string, readOnly bool, msgs []store.Msg, info store.FolderInfo) *mailbox {
	m := &mailbox{
		name: name, full: name, at: place{folder: name, rights: acl.All}, readOnly: readOnly, info: info, exists: len(msgs),
		uids: make([]uint32, 0, len(msgs)), modseqs: make([]uint64, 0, len(msgs)), flags: make([]flagSet, 0, len(msgs)),
		modseq: info.HighestModSeq, gone: map[int64]bool{}, changed: map[int64]bool{},
	}
	for _, msg := range msgs {
		m.add(msg)
	}
	m.newKW = false
	return m
}

// add appends a message with a UID above all in the view.
func (m *mailbox) add(msg store.Msg) {
	m.own()
	h := m.internFlags(msg.Flags)
	if n := len(m.flags); n == 0 || m.flags[n-1] != h {
		m.noteKeywords(msg.Flags)
	}
	m.uids = append(m.uids, uint32(msg.UID))
	m.modseqs = append(m.modseqs, uint64(msg.ModSeq))
	m.flags = append(m.flags, h)
}

// count is the number of messages in the view.
func (m *mailbox) count() int { return len(m.uids) }

// uid is the UID of the message at index i.
func (m *mailbox) uid(i int) int64 { return int64(m.uids[i]) }

// flagsAt is the flag list of the message at index i.
func (m *mailbox) flagsAt(i int) []string { return m.flagsOf(m.flags[i]) }

// state returns what the view holds of the message at index i.
func (m *mailbox) state(i int) msgState {
	st := msgState{uid: m.uids[i], modseq: m.modseqs[i], flags: m.flagsAt(i)}
	if len(m.recent) > 0 && m.isRecent(st.uid) {
		st.flags = withRecent(st.flags)
	}
	return st
}

// index returns the index of uid in the view, or -1.
func (m *mailbox) index(uid int64) int {
	if uid < 0 || uid > math.MaxUint32 {
		return -1
	}
	if i, ok := slices.BinarySearch(m.uids, uint32(uid)); ok {
		return i
	}
	return -1
}

// maxUID is the largest UID in the view, 0 when empty.
func (m *mailbox) maxUID() int64 {
	if len(m.uids) == 0 {
		return 0
	}
	return int64(m.uids[len(m.uids)-1])
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

// permanentFlags is PERMANENTFLAGS: nothing in a read-only mailbox, and
// only the flags the user's rights let it change (RFC 4314 4).
func (m *mailbox) permanentFlags() []string {
	if m.readOnly {
		return []string{}
	}
	out := []string{}
	for _, f := range m.flagList() {
		if m.mayStore(f) {
			out = append(out, f)
		}
	}
	if m.at.rights.Has(acl.Write) {
		out = append(out, `\*`)
	}
	return out
}

// mayStore reports whether the user may set or clear flag (RFC 4314 4:
// \Seen needs "s", \Deleted "t", every other flag "w").
func (m *mailbox) mayStore(flag string) bool {
	switch {
	case strings.EqualFold(flag, `\Seen`):
		return m.at.rights.Has(acl.Seen)
	case strings.EqualFold(flag, `\Deleted`):
		return m.at.rights.Has(acl.DeleteMessages)
	}
	return m.at.rights.Has(acl.Write)
}

// setMsg replaces the cached state of a message after this session
// changed it; it returns false when the message is not in the view.
func (m *mailbox) setMsg(msg store.Msg) bool {
	i := m.index(msg.UID)
	if i < 0 {
		return false
	}
	m.own()
	m.modseqs[i] = uint64(msg.ModSeq)
	m.flags[i] = m.internFlags(msg.Flags)
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
			s.takeEvent(ev, false)
		case ev, ok := <-s.selEvents:
			if !ok {
				s.selEvents = nil
				return
			}
			s.takeEvent(ev, true)
		default:
			return
		}
	}
}

func (s *session) noteEvent(ev store.Event) {
	if s.sel == nil || ev.Username != s.sel.at.owner.Username || ev.Kind == store.EventMetadata {
		return
	}
	if ev.Kind == store.EventResync || ev.Folder == s.sel.name {
		s.sel.dirty = true
	}
}

// watchOwner makes the events of the owner of a selected folder of
// another mailbox reach the session, as its own do (IDLE, updates).
func (s *session) watchOwner(owner string) {
	s.stopOwnerWatch()
	if owner != s.acct.Username {
		s.selEvents, s.stopSelWatch = s.srv.o.Store.Watch(owner)
	}
}

func (s *session) stopOwnerWatch() {
	if s.stopSelWatch != nil {
		s.stopSelWatch()
		s.selEvents, s.stopSelWatch = nil, nil
	}
}

// refresh reads what changed in the store since the last refresh into the
// view: new messages join it at once; flag changes and expunges wait for
// update to be announced.
func (s *session) refresh() error {
	m := s.sel
	changed, vanished, info, err := s.srv.o.Store.Changes(s.ctx, m.at.owner, m.name, m.modseq)
	if err != nil {
		return err
	}
	m.dirty = false
	m.modseq = info.HighestModSeq
	m.info = info
	top := m.maxUID()
	defer s.claimRecent(m, top+1)
	for _, c := range changed {
		if c.UID > top {
			m.add(c)
			top = c.UID
			continue
		}
		i := m.index(c.UID)
		if i < 0 || m.gone[c.UID] || m.modseqs[i] == uint64(c.ModSeq) {
			continue
		}
		m.own()
		if !slices.Equal(m.flagsAt(i), c.Flags) {
			m.changed[c.UID] = true
			m.noteKeywords(c.Flags)
			m.flags[i] = m.internFlags(c.Flags)
		}
		m.modseqs[i] = uint64(c.ModSeq)
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
	refreshed := m.dirty
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
	s.announceKeywords()
	if expunge && len(m.gone) > 0 {
		s.sendExpunges()
	}
	if m.count() > m.exists {
		m.exists = m.count()
		s.w.Untagged().Num(uint32(m.exists)).Atom("EXISTS").End()
		s.writeRecent(false)
	}
	if len(m.changed) > 0 {
		for i, u := range m.uids {
			if m.changed[int64(u)] {
				s.writeFlagsFetch(uint32(i+1), m.state(i), false)
			}
		}
		clear(m.changed)
	}
	// Told everything up to the store's state at m.modseq: the view is
	// that state, which other sessions may hold too.
	if refreshed && m.base == nil && len(m.gone) == 0 {
		m.share(s.srv.o.Store)
	}
}

// enableCondstore turns CONDSTORE on for a command that enables it
// implicitly (RFC 7162 3.1). With a mailbox selected, the client learns
// the HIGHESTMODSEQ its view is at before the command's responses, as a
// SELECT with CONDSTORE would have told it.
func (s *session) enableCondstore() {
	if s.condstore {
		return
	}
	s.condstore = true
	if m := s.sel; m != nil {
		s.w.Untagged().Atom("OK").Text("HIGHESTMODSEQ "+strconv.FormatInt(m.modseq, 10), "Highest").End()
	}
}

// announceKeywords sends FLAGS and PERMANENTFLAGS when keywords joined
// the mailbox since they were last sent (RFC 9051 7.3.5).
func (s *session) announceKeywords() {
	m := s.sel
	if !m.newKW {
		return
	}
	m.newKW = false
	s.w.Untagged().Atom("FLAGS").Flags(m.flagList()).End()
	s.w.Untagged().Atom("OK").Text("PERMANENTFLAGS "+flagString(m.permanentFlags()), "Flags permitted.").End()
}

// sendExpunges announces and removes the messages in m.gone: "* n
// EXPUNGE" from the highest sequence number down, so that each number is
// right when sent, or one VANISHED with QRESYNC (RFC 7162 3.2.10).
func (s *session) sendExpunges() {
	m := s.sel
	s.contextsExpunge() // RFC 5267 4.3.4: REMOVEFROM first
	m.own()
	var uids []uint32
	var seqs []int
	k := 0
	for i, u := range m.uids {
		if m.gone[int64(u)] {
			seqs = append(seqs, i+1)
			uids = append(uids, u)
			continue
		}
		m.uids[k], m.modseqs[k], m.flags[k] = u, m.modseqs[i], m.flags[i]
		k++
	}
	if s.qresync || s.uidOnly { // RFC 9586 3.2
		s.w.Untagged().Atom("VANISHED").SeqSet(imapwire.NewSeqSet(uids...)).End()
	} else {
		for i := len(seqs) - 1; i >= 0; i-- {
			s.w.Untagged().Num(uint32(seqs[i])).Atom("EXPUNGE").End()
		}
	}
	m.uids, m.modseqs, m.flags = m.uids[:k], m.modseqs[:k], m.flags[:k]
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

// writeFlagsFetch sends "* n FETCH (UID u FLAGS (...) [MODSEQ (m)])", or
// "* u UIDFETCH (FLAGS (...) [MODSEQ (m)])" under UIDONLY.
func (s *session) writeFlagsFetch(seq uint32, msg msgState, noFlags bool) {
	w := s.fetchStart(seq, msg.uid)
	if !s.uidOnly {
		w.Atom("UID").Num(msg.uid)
	}
	if !noFlags {
		w.Atom("FLAGS").Flags(msg.flags)
	}
	if s.condstore {
		w.Atom("MODSEQ").Open().Num64(msg.modseq).Close()
	}
	w.Close().End()
}

func flagString(flags []string) string {
	return "(" + strings.Join(flags, " ") + ")"
}
