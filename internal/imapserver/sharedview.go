package imapserver

import (
	"context"
	"runtime"
	"slices"
	"sync"
	"weak"

	"mailwarden/internal/store"
)

// sharedView is an immutable snapshot of a folder's messages at one
// HIGHESTMODSEQ: what every session that selects the folder at that state
// holds, kept once. A session's mailbox points into it (mailbox.base)
// until it must change a message, and copies it then (mailbox.own);
// sessions that are told everything up to the same state share one again
// (reshare). Only handles of the process-wide flag table are shared.
type sharedView struct {
	uids     []uint32 // clipped: an append never writes into them
	modseqs  []uint64
	flags    []flagSet
	keywords []string
	modseq   int64 // the folder's HIGHESTMODSEQ
	uidNext  int64
}

// viewKey names one folder of one store as one user sees it (owner.Viewer:
// a user reading another's folder has its own \Seen); a new UIDVALIDITY
// (the folder deleted and made again) is another key.
type viewKey struct {
	st          *store.Store
	owner       store.Account
	folder      string
	uidValidity int64
}

// views holds the newest snapshot of each folder that a session holds.
// Entries are weak: a snapshot no session holds is collected, and its
// entry removed by a cleanup.
var views = viewRegistry{m: map[viewKey]weak.Pointer[sharedView]{}}

type viewRegistry struct {
	mu sync.Mutex
	m  map[viewKey]weak.Pointer[sharedView]
}

func (r *viewRegistry) get(k viewKey) *sharedView {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.m[k].Value()
}

// put publishes sv unless a snapshot of a later state is there already;
// it returns the one that stays.
func (r *viewRegistry) put(k viewKey, sv *sharedView) *sharedView {
	r.mu.Lock()
	defer r.mu.Unlock()
	if old := r.m[k].Value(); old != nil && old.modseq >= sv.modseq {
		return old
	}
	wp := weak.Make(sv)
	r.m[k] = wp
	runtime.AddCleanup(sv, func(k viewKey) {
		r.mu.Lock()
		defer r.mu.Unlock()
		if r.m[k] == wp {
			delete(r.m, k)
		}
	}, k)
	return sv
}

func (m *mailbox) viewKey(st *store.Store) viewKey {
	return viewKey{st: st, owner: m.at.owner, folder: m.name, uidValidity: m.info.UIDValidity}
}

// share makes the mailbox's arrays a snapshot at modseq and publishes it,
// or takes the one published for that state. The caller guarantees that
// the arrays are the store's state at m.modseq: nothing pending (no
// message the client was not told is gone, no flag change untold).
func (m *mailbox) share(st *store.Store) {
	if m.base != nil || len(m.local) > 0 {
		return
	}
	k := m.viewKey(st)
	if sv := views.get(k); sv != nil && sv.modseq == m.modseq && sv.uidNext == m.info.UIDNext && len(sv.uids) == len(m.uids) {
		m.adopt(sv)
		return
	}
	sv := &sharedView{
		uids: slices.Clip(m.uids), modseqs: slices.Clip(m.modseqs), flags: slices.Clip(m.flags),
		keywords: slices.Clip(m.keywords), modseq: m.modseq, uidNext: m.info.UIDNext,
	}
	m.adopt(views.put(k, sv))
}

// adopt points the mailbox's arrays at sv. The keywords the session
// announced stay its own.
func (m *mailbox) adopt(sv *sharedView) {
	m.base = sv
	m.uids, m.modseqs, m.flags = sv.uids, sv.modseqs, sv.flags
}

// own gives the mailbox arrays of its own before it changes one.
func (m *mailbox) own() {
	if m.base == nil {
		return
	}
	m.base = nil
	n := len(m.uids) + 16
	m.uids = append(make([]uint32, 0, n), m.uids...)
	m.modseqs = append(make([]uint64, 0, n), m.modseqs...)
	m.flags = append(make([]flagSet, 0, n), m.flags...)
}

// openMailbox builds the mailbox of a SELECT at the folder's current
// state: from the snapshot sessions share when it is that state, or from
// the newest snapshot and the changes after it, or from the whole folder
// (store.View). Only the last reads every message.
func (s *session) openMailbox(ctx context.Context, p place, readOnly bool) (*mailbox, error) {
	st := s.srv.o.Store
	info, err := st.FolderState(ctx, p.owner, p.folder)
	if err != nil {
		return nil, err
	}
	m := &mailbox{
		name: p.folder, full: p.folder, at: p, readOnly: readOnly, info: info,
		modseq: info.HighestModSeq, gone: map[int64]bool{}, changed: map[int64]bool{},
	}
	sv := views.get(m.viewKey(st))
	if sv != nil && sv.modseq <= info.HighestModSeq {
		m.adopt(sv)
		m.keywords = sv.keywords
		m.modseq = sv.modseq
		if sv.modseq < info.HighestModSeq || sv.uidNext != info.UIDNext {
			if err := m.catchUp(ctx, st); err != nil {
				return nil, err
			}
		}
		m.exists = m.count()
		return m, nil
	}
	msgs, info, err := st.View(ctx, p.owner, p.folder)
	if err != nil {
		return nil, err
	}
	m = newMailbox(p.folder, readOnly, msgs, info)
	m.at = p
	m.share(st)
	return m, nil
}

// catchUp moves a mailbox made from an older snapshot to the store's
// current state (nothing is announced: the client is about to be told
// the state as SELECT's answer), then shares it.
func (m *mailbox) catchUp(ctx context.Context, st *store.Store) error {
	changed, vanished, info, err := st.Changes(ctx, m.at.owner, m.name, m.modseq)
	if err != nil {
		return err
	}
	m.own()
	if len(vanished) > 0 {
		gone := make(map[uint32]bool, len(vanished))
		for _, u := range vanished {
			gone[uint32(u)] = true
		}
		k := 0
		for i, u := range m.uids {
			if !gone[u] {
				m.uids[k], m.modseqs[k], m.flags[k] = u, m.modseqs[i], m.flags[i]
				k++
			}
		}
		m.uids, m.modseqs, m.flags = m.uids[:k], m.modseqs[:k], m.flags[:k]
	}
	top := m.maxUID()
	for _, c := range changed {
		if c.UID > top {
			m.add(c)
			top = c.UID
			continue
		}
		if i := m.index(c.UID); i >= 0 {
			m.modseqs[i] = uint64(c.ModSeq)
			m.flags[i] = m.internFlags(c.Flags)
			m.noteKeywords(c.Flags)
		}
	}
	m.newKW = false
	m.modseq = info.HighestModSeq
	m.info = info
	m.share(st)
	return nil
}
