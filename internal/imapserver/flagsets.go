package imapserver

import (
	"slices"
	"sync"
	"sync/atomic"
)

// flagSet is a handle to a message's flag list. A selected mailbox keeps
// one per message instead of the list: most messages share a handful of
// lists, which are interned once for the whole process (flagSets). Handles
// with localSet set index a mailbox's own table, used only when the
// process-wide one is full.
type flagSet uint32

const (
	localSet = flagSet(1) << 31
	// maxFlagSets bounds the process-wide table, which never shrinks:
	// clients can make up keywords, so the number of distinct lists is
	// theirs to choose.
	maxFlagSets = 1 << 18
)

// flagInterner maps flag lists to handles and back. Lists are stored
// sorted as the store keeps them and must never be modified.
type flagInterner struct {
	max  int // lists it takes at most
	mu   sync.RWMutex
	ids  map[string]flagSet // flags joined by a space (no atom has one)
	sets atomic.Pointer[[][]string]
}

var flagSets = newFlagInterner(maxFlagSets)

func newFlagInterner(max int) *flagInterner {
	in := &flagInterner{max: max, ids: map[string]flagSet{}}
	in.sets.Store(&[][]string{})
	return in
}

// flagsKey appends the key of flags to b.
func flagsKey(b []byte, flags []string) []byte {
	for i, f := range flags {
		if i > 0 {
			b = append(b, ' ')
		}
		b = append(b, f...)
	}
	return b
}

// intern returns the handle of flags; ok is false when the table is full
// and flags are not in it.
func (in *flagInterner) intern(flags []string) (h flagSet, ok bool) {
	var buf [128]byte
	key := flagsKey(buf[:0], flags)
	in.mu.RLock()
	h, ok = in.ids[string(key)]
	in.mu.RUnlock()
	if ok {
		return h, true
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	if h, ok := in.ids[string(key)]; ok {
		return h, true
	}
	sets := *in.sets.Load()
	if len(sets) >= in.max {
		return 0, false
	}
	h = flagSet(len(sets))
	// Readers holding the old slice never look past its length, so an
	// append in place is safe; the new header is published atomically.
	sets = append(sets, slices.Clip(slices.Clone(flags)))
	in.sets.Store(&sets)
	in.ids[string(key)] = h
	return h, true
}

// get returns the list of a handle intern returned.
func (in *flagInterner) get(h flagSet) []string {
	return (*in.sets.Load())[h]
}

// internFlags returns the handle of flags, interned process-wide or, when
// that table is full, in the mailbox's own.
func (m *mailbox) internFlags(flags []string) flagSet {
	if h, ok := flagSets.intern(flags); ok {
		return h
	}
	key := string(flagsKey(nil, flags))
	if h, ok := m.localIDs[key]; ok {
		return h
	}
	if m.localIDs == nil {
		m.localIDs = map[string]flagSet{}
	}
	h := localSet | flagSet(len(m.local))
	m.local = append(m.local, slices.Clone(flags))
	m.localIDs[key] = h
	return h
}

// flagsOf returns the flag list of a handle.
func (m *mailbox) flagsOf(h flagSet) []string {
	if h&localSet != 0 {
		return m.local[h&^localSet]
	}
	return flagSets.get(h)
}
