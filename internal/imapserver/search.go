package imapserver

import (
	"strconv"
	"strings"

	"mailwarden/internal/imapwire"
	"mailwarden/internal/store"
)

// hasFlag reports whether flags holds f, ignoring case (RFC 9051 2.3.2).
func hasFlag(flags []string, f string) bool {
	for _, g := range flags {
		if strings.EqualFold(g, f) {
			return true
		}
	}
	return false
}

// cmdSearch serves SEARCH and UID SEARCH (RFC 9051 6.4.4) with ESEARCH
// (RFC 4731), SEARCHRES (RFC 5182) and MODSEQ (RFC 7162 3.1.5).
func (s *session) cmdSearch(c *imapwire.Command) result {
	a := c.Args.(*imapwire.SearchArgs)
	if r, ok := s.startUpdate(c.Tag, &a.Return); !ok {
		return r
	}
	hits, withModSeq, r, ok := s.matching("SEARCH", a.Charset, &a.Key)
	if !ok {
		return r
	}
	ret := a.Return
	esearch := a.ESearch || s.rev2
	if !a.ESearch {
		ret = imapwire.SearchReturn{All: true}
	}
	if ret.Save {
		s.saveResult(hits, ret)
	}
	if !esearch {
		s.writeSearch(c.UID, hits, withModSeq)
		return done("Search completed.")
	}
	// RFC 5267 4.2, 4.3: CONTEXT and UPDATE alone get the correlator.
	if ret.Min || ret.Max || ret.All || ret.Count || ret.Partial != nil || ret.Context || ret.Update {
		s.writeESearch(c.Tag, c.UID, hits, ret, withModSeq, false)
	}
	if s.addContext(c, ret, a.Key, nil, hits) {
		return done("Search completed, will notify.")
	}
	return done("Search completed.")
}

// searchHits returns the indexes in the view of the messages that match
// key, in order.
// matching is what SEARCH and SORT do first: refuse a charset we do not
// have, enable CONDSTORE when the key names MODSEQ (RFC 7162 3.1), and
// find the messages key matches. ok false means r is the command's answer.
func (s *session) matching(cmd, charset string, key *imapwire.SearchKey) (hits []int, withModSeq bool, r result, ok bool) {
	if !charsetOK(charset) {
		return nil, false, fail("BADCHARSET (US-ASCII UTF-8)", "Unsupported charset."), false
	}
	withModSeq = usesModSeq(key)
	if withModSeq {
		s.enableCondstore()
	}
	hits, err := s.searchHits(*key)
	if err != nil {
		return nil, false, s.storeFail(cmd, err, false), false
	}
	return hits, withModSeq, result{}, true
}

func (s *session) searchHits(key imapwire.SearchKey) ([]int, error) {
	key = cloneKey(key)
	cheapFirst(&key)
	mt := &matcher{s: s}
	if len(s.saved) > 0 {
		mt.saved = make(map[int64]bool, len(s.saved))
		for _, u := range s.saved {
			mt.saved[u] = true
		}
	}
	// Sizes, dates, files and header caches come from the store, one
	// query per chunk of messages, and only when a key needs them.
	var rowsFor rowsFunc
	if parts := searchParts(&key); parts != 0 {
		rowsFor = s.rowsWith(parts)
		if parts&store.PartFields != 0 {
			mt.fills = &cacheFills{s: s}
		}
	}
	var hits []int
	uids := make([]int64, 0, min(s.sel.count(), fetchChunk))
	for start := 0; start < s.sel.count(); start += fetchChunk {
		end := min(start+fetchChunk, s.sel.count())
		var rows []store.Msg
		if rowsFor != nil {
			uids = uids[:0]
			for i := start; i < end; i++ {
				uids = append(uids, s.sel.uid(i))
			}
			var err error
			if rows, err = rowsFor(uids); err != nil {
				mt.fills.flush()
				return nil, err
			}
		}
		k := 0
		for i := start; i < end; i++ {
			mt.seq, mt.msg, mt.row, mt.failed = uint32(i+1), s.sel.state(i), nil, false
			for k < len(rows) && rows[k].UID < int64(mt.msg.uid) {
				k++
			}
			if k < len(rows) && rows[k].UID == int64(mt.msg.uid) {
				mt.row = &rows[k]
			}
			if mt.match(&key) {
				hits = append(hits, i)
			}
			mt.close()
		}
		mt.fills.flush()
	}
	return hits, nil
}

// cloneKey copies the tree of k, which cheapFirst reorders.
func cloneKey(k imapwire.SearchKey) imapwire.SearchKey {
	if len(k.Children) > 0 {
		c := make([]imapwire.SearchKey, len(k.Children))
		for i := range c {
			c[i] = cloneKey(k.Children[i])
		}
		k.Children = c
	}
	return k
}

// id is what a result lists for message index i: its UID or number.
func (s *session) id(i int, uid bool) uint32 {
	if uid {
		return s.sel.uids[i]
	}
	return uint32(i + 1)
}

// saveResult keeps the result for "$" (RFC 5182 2.4): the MIN and/or MAX
// message when only those were asked for, else all matches.
func (s *session) saveResult(hits []int, ret imapwire.SearchReturn) {
	s.saved = nil
	if len(hits) == 0 {
		return
	}
	pick := hits
	if !ret.All && !ret.Count && (ret.Min || ret.Max) {
		pick = nil
		if ret.Min {
			pick = append(pick, hits[0])
		}
		if ret.Max && (!ret.Min || len(hits) > 1) {
			pick = append(pick, hits[len(hits)-1])
		}
	}
	for _, i := range pick {
		s.saved = append(s.saved, s.sel.uid(i))
	}
}

// highestModSeq is the largest MODSEQ of the messages at idx.
func (s *session) highestModSeq(idx []int) uint64 {
	var m uint64
	for _, i := range idx {
		m = max(m, s.sel.modseqs[i])
	}
	return m
}

// writeSearch sends "* SEARCH n..." with "(MODSEQ m)" after a MODSEQ key.
func (s *session) writeSearch(uid bool, hits []int, withModSeq bool) {
	w := s.w.Untagged().Atom("SEARCH")
	for _, i := range hits {
		w.Num(s.id(i, uid))
	}
	if withModSeq && len(hits) > 0 {
		w.Open().Atom("MODSEQ").Num64(s.highestModSeq(hits)).Close()
	}
	w.End()
}

// writeESearch sends "* ESEARCH (TAG "t") [UID] MIN n MAX n ALL set COUNT
// n [PARTIAL (range set)] [MODSEQ m]"; MIN, MAX and ALL are left out
// when nothing matched. hits are ascending for SEARCH; for SORT (sorted)
// they are in sort order, which MIN, MAX, ALL and PARTIAL follow (RFC
// 5267 3.2).
func (s *session) writeESearch(tag string, uid bool, hits []int, ret imapwire.SearchReturn, withModSeq, sorted bool) {
	w := s.w.Untagged().Atom("ESEARCH").Open().Atom("TAG").String(tag).Close()
	if uid {
		w.Atom("UID")
	}
	ids := func(hits []int) string {
		nums := make([]uint32, len(hits))
		for k, i := range hits {
			nums[k] = s.id(i, uid)
		}
		if sorted {
			return orderedSet(nums)
		}
		return imapwire.NewSeqSet(nums...).String()
	}
	if len(hits) > 0 {
		if ret.Min {
			w.Atom("MIN").Num(s.id(hits[0], uid))
		}
		if ret.Max {
			w.Atom("MAX").Num(s.id(hits[len(hits)-1], uid))
		}
		if ret.All {
			w.Atom("ALL").Atom(ids(hits))
		}
	}
	if ret.Count {
		w.Atom("COUNT").Num(uint32(len(hits)))
	}
	var part []int
	if p := ret.Partial; p != nil {
		// RFC 9394 3.1: the range as asked, then the results in it or NIL.
		part = partialOf(hits, *p)
		w.Atom("PARTIAL").Open().Atom(strconv.Itoa(int(p.First)) + ":" + strconv.Itoa(int(p.Last)))
		if len(part) == 0 {
			w.NIL()
		} else {
			w.Atom(ids(part))
		}
		w.Close()
	}
	if withModSeq && len(hits) > 0 {
		counted := hits
		if !ret.All && !ret.Count {
			counted = part
			if ret.Min {
				counted = append(counted, hits[0])
			}
			if ret.Max {
				counted = append(counted, hits[len(hits)-1])
			}
		}
		if len(counted) > 0 {
			w.Atom("MODSEQ").Num64(s.highestModSeq(counted))
		}
	}
	w.End()
}
