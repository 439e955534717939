package imapserver

import (
	"errors"
	"slices"
	"strconv"

	"mailwarden/internal/imapwire"
	"mailwarden/internal/store"
)

// CONTEXT=SEARCH and CONTEXT=SORT (RFC 5267 4): a SEARCH or SORT with
// RETURN (UPDATE) keeps its result, and the session tells the client
// how it changes (ESEARCH ADDTO and REMOVEFROM) as messages arrive,
// change flags or go, until CANCELUPDATE or the mailbox is closed. A
// context holds its program and the UIDs of its result in order (4
// bytes a result); on a change of the mailbox the program runs again
// over the view (flag keys from memory, header keys from the index's
// header cache) and the difference is sent.

// maxContexts bounds the updating contexts of a session (RFC 5267
// 4.3.1: at least one); another UPDATE is refused with NOUPDATE.
const maxContexts = 8

// searchContext is one updating search or sort.
type searchContext struct {
	tag      string
	uid      bool
	m        *mailbox // the view it belongs to
	key      imapwire.SearchKey
	sortKeys []imapwire.SortKey // nil for SEARCH: the result is in mailbox order
	fetch    []imapwire.FetchItem
	result   []uint32 // UIDs, in result order
	// The view's state when result was made: nothing to do while equal.
	modseq int64
	count  int
}

// startUpdate checks an UPDATE request before the command runs: the tag
// of a live context cannot start another (RFC 5267 4.3: BAD), and past
// maxContexts the command runs without updates, after an untagged NO
// [NOUPDATE] (4.3.1). update tells whether addContext is to keep it.
func (s *session) startUpdate(tag string, ret *imapwire.SearchReturn) (r result, ok bool) {
	if !ret.Update {
		return result{}, true
	}
	s.dropStaleContexts()
	if slices.ContainsFunc(s.contexts, func(c *searchContext) bool { return c.tag == tag }) {
		return bad("Tag reuse: an updating search with this tag is still active."), false
	}
	if len(s.contexts) >= maxContexts {
		s.w.Untagged().Atom("NO").Text("NOUPDATE "+strconv.Quote(tag), "Too many updating contexts.").End()
		ret.Update = false
	}
	return result{}, true
}

// addContext keeps the result hits (view indexes, in result order) of a
// SEARCH or SORT with UPDATE, or refuses with NOUPDATE when the session
// has as many as it may (RFC 5267 4.3.1).
func (s *session) addContext(c *imapwire.Command, ret imapwire.SearchReturn, key imapwire.SearchKey, sortKeys []imapwire.SortKey, hits []int) bool {
	if !ret.Update {
		return false
	}
	cx := &searchContext{tag: c.Tag, uid: c.UID, m: s.sel, key: cloneKey(key), sortKeys: sortKeys,
		modseq: s.sel.modseq, count: s.sel.count(), result: make([]uint32, len(hits))}
	if ret.UpdateFetch != nil {
		cx.fetch = *ret.UpdateFetch
	}
	for k, i := range hits {
		cx.result[k] = s.sel.uids[i]
	}
	s.contexts = append(s.contexts, cx)
	return true
}

// dropStaleContexts ends the contexts of a mailbox no longer selected
// (RFC 5267 4.3).
func (s *session) dropStaleContexts() {
	s.contexts = slices.DeleteFunc(s.contexts, func(c *searchContext) bool { return c.m != s.sel || s.sel == nil })
}

// cmdCancelUpdate serves CANCELUPDATE (RFC 5267 4.3.5).
func (s *session) cmdCancelUpdate(c *imapwire.Command) result {
	a := c.Args.(*imapwire.CancelUpdateArgs)
	s.dropStaleContexts()
	for _, t := range a.Tags {
		if !slices.ContainsFunc(s.contexts, func(c *searchContext) bool { return c.tag == t }) {
			return fail("", "Unknown search context "+strconv.Quote(t)+".")
		}
	}
	s.contexts = slices.DeleteFunc(s.contexts, func(c *searchContext) bool { return slices.Contains(a.Tags, c.tag) })
	return done("Updates cancelled.")
}

// syncView is update with what contexts and NOTIFY add to it: REMOVEFROM
// before the expunges it announces, the FETCH of MessageNew's items
// after EXISTS (RFC 5465 5.2), then ADDTO (RFC 5267 4.3.3, 4.3.4).
func (s *session) syncView(expunge bool) {
	s.dropStaleContexts()
	m := s.sel
	var fetch []imapwire.FetchItem
	if n := s.notify; n != nil && n.sel != nil {
		fetch = n.sel.fetch
	}
	if m == nil || (len(s.contexts) == 0 && len(fetch) == 0) {
		s.update(expunge)
		return
	}
	s.pollEvents()
	if m.dirty {
		if err := s.refresh(); err != nil {
			s.update(expunge) // says goodbye or logs, as without contexts
			return
		}
	}
	// With expunges that cannot be announced yet, the contexts wait: their
	// results must not lose messages the client still sees.
	var next [][]uint32
	if expunge || len(m.gone) == 0 {
		next = make([][]uint32, len(s.contexts))
		for k, cx := range s.contexts {
			if cx.modseq == m.modseq && cx.count == m.count() && len(m.gone) == 0 {
				continue
			}
			res, err := s.contextResult(cx)
			if err != nil {
				s.logError("CONTEXT", err)
				continue
			}
			next[k] = res
			s.writeRemoveFrom(cx, res)
		}
	}
	before := m.exists
	s.update(expunge)
	if s.sel != m || s.quit {
		return
	}
	if len(fetch) > 0 && m.exists > before {
		idx := make([]int, 0, m.exists-before)
		for i := before; i < m.exists; i++ {
			idx = append(idx, i)
		}
		s.fetchQuiet(idx, fetch)
	}
	for k, res := range next {
		cx := s.contexts[k]
		if res == nil && (cx.modseq != m.modseq || cx.count != m.count()) {
			continue // failed above
		}
		if res != nil {
			s.writeAddTo(cx, res)
			cx.result = res
		}
		cx.modseq, cx.count = m.modseq, m.count()
	}
}

// contextResult runs the program of cx again over the view, leaving out
// messages about to be announced as expunged.
func (s *session) contextResult(cx *searchContext) ([]uint32, error) {
	hits, err := s.searchHits(cx.key)
	if err != nil {
		return nil, err
	}
	m := s.sel
	hits = slices.DeleteFunc(hits, func(i int) bool { return m.gone[int64(m.uids[i])] })
	if cx.sortKeys != nil {
		if hits, err = s.sortHits(hits, cx.sortKeys); err != nil {
			return nil, err
		}
	}
	out := make([]uint32, len(hits))
	for k, i := range hits {
		out[k] = m.uids[i]
	}
	return out, nil
}

// contextsExpunge sends REMOVEFROM for the results about to be announced
// as expunged (m.gone), before the EXPUNGE or VANISHED that follows
// (RFC 5267 4.3.4), whoever expunged them.
func (s *session) contextsExpunge() {
	m := s.sel
	for _, cx := range s.contexts {
		if cx.m != m {
			continue
		}
		next := slices.DeleteFunc(slices.Clone(cx.result), func(u uint32) bool { return m.gone[int64(u)] })
		if len(next) != len(cx.result) {
			s.writeRemoveFrom(cx, next)
		}
	}
}

// ctxPair is a context position and the results there.
type ctxPair struct {
	pos int
	ids []uint32 // UIDs
}

// writeRemoveFrom sends the results of cx that are not in next (RFC
// 5267 4.3.4): for SEARCH at position 0 in mailbox order, for SORT at
// their positions, each run of neighbours as one pair. The result of
// cx keeps the others.
func (s *session) writeRemoveFrom(cx *searchContext, next []uint32) {
	in := make(map[uint32]bool, len(next))
	for _, u := range next {
		in[u] = true
	}
	var pairs []ctxPair
	kept := 0
	for k, u := range cx.result {
		if in[u] {
			kept++
			continue
		}
		if cx.sortKeys == nil {
			if len(pairs) == 0 {
				pairs = append(pairs, ctxPair{})
			}
			pairs[0].ids = append(pairs[0].ids, u)
			continue
		}
		// Removed in order, each run starts where the kept ones end.
		if len(pairs) > 0 && k > 0 && !in[cx.result[k-1]] {
			pairs[len(pairs)-1].ids = append(pairs[len(pairs)-1].ids, u)
			continue
		}
		pairs = append(pairs, ctxPair{pos: kept + 1, ids: []uint32{u}})
	}
	s.writeUpdate(cx, "REMOVEFROM", pairs)
	if len(pairs) > 0 {
		cx.result = slices.DeleteFunc(cx.result, func(u uint32) bool { return !in[u] })
	}
}

// writeAddTo sends the results of next that cx did not have (RFC 5267
// 4.3.3), after the FETCH of UPDATE's items (RFC 5465 7).
func (s *session) writeAddTo(cx *searchContext, next []uint32) {
	had := make(map[uint32]bool, len(cx.result))
	for _, u := range cx.result {
		had[u] = true
	}
	var pairs []ctxPair
	var added []int
	for k, u := range next {
		if had[u] {
			continue
		}
		if i := s.sel.index(int64(u)); i >= 0 {
			added = append(added, i)
		}
		if cx.sortKeys == nil {
			if len(pairs) == 0 {
				pairs = append(pairs, ctxPair{})
			}
			pairs[0].ids = append(pairs[0].ids, u)
			continue
		}
		if len(pairs) > 0 && k > 0 && !had[next[k-1]] {
			pairs[len(pairs)-1].ids = append(pairs[len(pairs)-1].ids, u)
			continue
		}
		pairs = append(pairs, ctxPair{pos: k + 1, ids: []uint32{u}})
	}
	if len(cx.fetch) > 0 && len(added) > 0 {
		slices.Sort(added)
		s.fetchQuiet(added, cx.fetch)
	}
	s.writeUpdate(cx, "ADDTO", pairs)
}

// writeUpdate sends "* ESEARCH (TAG t) [UID] ADDTO|REMOVEFROM (pos set
// ...)" with message numbers of the view as it is now, or UIDs.
func (s *session) writeUpdate(cx *searchContext, item string, pairs []ctxPair) {
	if len(pairs) == 0 {
		return
	}
	w := s.w.Untagged().Atom("ESEARCH").Open().Atom("TAG").String(cx.tag).Close()
	if cx.uid {
		w.Atom("UID")
	}
	w.Atom(item).Open()
	for _, p := range pairs {
		ids := p.ids
		if !cx.uid {
			ids = make([]uint32, 0, len(p.ids))
			for _, u := range p.ids {
				if i := s.sel.index(int64(u)); i >= 0 {
					ids = append(ids, uint32(i+1))
				}
			}
		}
		w.Num(uint32(p.pos))
		if cx.sortKeys == nil {
			w.Atom(imapwire.NewSeqSet(ids...).String())
		} else {
			w.Atom(orderedSet(ids))
		}
	}
	w.Close().End()
}

// fetchQuiet sends FETCH responses with items for the messages at idx
// (ascending) of the view, as notifications: nothing is marked \Seen
// (RFC 5465 5.2 asks clients for PEEK items) and a message gone
// meanwhile is skipped.
func (s *session) fetchQuiet(idx []int, items []imapwire.FetchItem) {
	rowsFor := s.fetchRows(items)
	var fills *cacheFills
	if usesCache(items) {
		fills = &cacheFills{s: s}
	}
	for len(idx) > 0 {
		chunk := idx[:min(len(idx), fetchChunk)]
		idx = idx[len(chunk):]
		var rows []store.Msg
		if rowsFor != nil {
			var err error
			if rows, err = rowsFor(s.uidsOf(chunk)); err != nil {
				fills.flush()
				s.logError("NOTIFY", err)
				return
			}
		}
		k := 0
		for _, i := range chunk {
			st := s.sel.state(i)
			var row *store.Msg
			for k < len(rows) && rows[k].UID < int64(st.uid) {
				k++
			}
			if k < len(rows) && rows[k].UID == int64(st.uid) {
				row = &rows[k]
			}
			if err := s.fetchOne(uint32(i+1), st, row, fills, items, false); err != nil && !errors.Is(err, errGone) && !errors.Is(err, errUnknownCTE) {
				s.logError("NOTIFY", err)
			}
		}
		fills.flush()
	}
}
