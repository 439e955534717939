package imapserver

import (
	"slices"
	"sort"

	"mailwarden/internal/imapwire"
)

// resolve returns the indexes into the view of the messages a set names,
// ascending and each once. By sequence number, ok is false when the set
// names a number beyond the mailbox (RFC 9051 6.4.5: the client gets BAD);
// by UID, numbers without a message are simply skipped (RFC 9051 6.4.9).
// "$" is the result saved by SEARCH RETURN (SAVE) (RFC 5182).
func (s *session) resolve(set imapwire.SeqSet, uid bool) (idx []int, ok bool) {
	m := s.sel
	if set.Saved {
		for _, u := range s.saved {
			if i := m.index(u); i >= 0 {
				idx = append(idx, i)
			}
		}
		sort.Ints(idx)
		return idx, true
	}
	if !uid {
		n := uint32(m.count())
		if !set.InBounds(n) {
			return nil, false
		}
		for _, r := range set.Resolve(n) {
			for q := uint64(r.Start); q <= uint64(r.Stop); q++ {
				idx = append(idx, int(q-1))
			}
		}
		return idx, true
	}
	top := m.maxUID()
	for _, r := range set.Resolve(uint32(top)) {
		i, _ := slices.BinarySearch(m.uids, r.Start)
		for ; i < len(m.uids) && m.uids[i] <= r.Stop; i++ {
			idx = append(idx, i)
		}
	}
	return idx, true
}

// uidsOf returns the UIDs of the messages at idx.
func (s *session) uidsOf(idx []int) []int64 {
	out := make([]int64, len(idx))
	for k, i := range idx {
		out[k] = s.sel.uid(i)
	}
	return out
}

// toUint32 converts UIDs for the wire.
func toUint32(uids []int64) []uint32 {
	out := make([]uint32, len(uids))
	for i, u := range uids {
		out[i] = uint32(u)
	}
	return out
}
