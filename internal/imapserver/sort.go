package imapserver

import (
	"slices"
	"strconv"
	"strings"

	"mailwarden/internal/imapmsg"
	"mailwarden/internal/imapwire"
	"mailwarden/internal/store"
)

// sortVal is the value of one sort key for one message: a number (size,
// time) or a collated string.
type sortVal struct {
	n int64
	s string
}

// sortItem is a message being sorted: its index in the view and its keys.
type sortItem struct {
	i    int
	vals []sortVal
}

// charsetOK tells the charsets SEARCH, SORT and THREAD accept.
func charsetOK(cs string) bool {
	return cs == "" || cs == "US-ASCII" || cs == "UTF-8"
}

// sortParts is what the sort keys need of the index.
func sortParts(keys []imapwire.SortKey) store.Parts {
	var p store.Parts
	for _, k := range keys {
		switch k.Name {
		case "ARRIVAL":
			p |= store.PartDate
		case "SIZE":
			p |= store.PartSize
		case "DATE":
			p |= store.PartFields | store.PartDate
		default:
			p |= store.PartFields
		}
	}
	return p
}

// eachHeader calls fn for every message of hits (in order) with its index
// row (nil when another session expunged it) and a matcher whose head
// answers from the header cache, or the file for a message without one,
// reading the index in chunks as SEARCH does.
func (s *session) eachHeader(hits []int, parts store.Parts, fn func(i int, row *store.Msg, mt *matcher)) error {
	mt := &matcher{s: s, fills: &cacheFills{s: s}}
	rowsFor := s.rowsWith(parts)
	uids := make([]int64, 0, min(len(hits), fetchChunk))
	for start := 0; start < len(hits); start += fetchChunk {
		chunk := hits[start:min(start+fetchChunk, len(hits))]
		uids = uids[:0]
		for _, i := range chunk {
			uids = append(uids, s.sel.uid(i))
		}
		rows, err := rowsFor(uids)
		if err != nil {
			mt.fills.flush()
			return err
		}
		k := 0
		for _, i := range chunk {
			mt.seq, mt.msg, mt.row, mt.failed = uint32(i+1), s.sel.state(i), nil, false
			for k < len(rows) && rows[k].UID < int64(mt.msg.uid) {
				k++
			}
			if k < len(rows) && rows[k].UID == int64(mt.msg.uid) {
				mt.row = &rows[k]
			}
			fn(i, mt.row, mt)
			mt.close()
		}
		mt.fills.flush()
	}
	return nil
}

// sortHits orders hits by keys (RFC 5256 3): each key in turn, REVERSE
// reversing that key only, and the sequence number last.
func (s *session) sortHits(hits []int, keys []imapwire.SortKey) ([]int, error) {
	items := make([]sortItem, 0, len(hits))
	vals := make([]sortVal, len(hits)*len(keys))
	err := s.eachHeader(hits, sortParts(keys), func(i int, row *store.Msg, mt *matcher) {
		it := sortItem{i: i, vals: vals[:len(keys):len(keys)]}
		vals = vals[len(keys):]
		for k, key := range keys {
			it.vals[k] = sortValue(key.Name, row, mt)
		}
		items = append(items, it)
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(items, func(a, b sortItem) int {
		for k, key := range keys {
			c := compareVal(a.vals[k], b.vals[k])
			if key.Reverse {
				c = -c
			}
			if c != 0 {
				return c
			}
		}
		return a.i - b.i
	})
	out := make([]int, len(items))
	for k, it := range items {
		out[k] = it.i
	}
	return out, nil
}

func compareVal(a, b sortVal) int {
	if a.n != b.n {
		if a.n < b.n {
			return -1
		}
		return 1
	}
	return strings.Compare(a.s, b.s)
}

// sortValue is the value of key for one message; a message without a row
// (expunged meanwhile) sorts as empty.
func sortValue(key string, row *store.Msg, mt *matcher) sortVal {
	if row == nil {
		return sortVal{}
	}
	switch key {
	case "ARRIVAL":
		return sortVal{n: row.InternalDate.UnixNano()}
	case "SIZE":
		return sortVal{n: row.Size}
	}
	field := map[string]string{"DATE": "Date", "FROM": "From", "TO": "To", "CC": "Cc",
		"SUBJECT": "Subject", "DISPLAYFROM": "From", "DISPLAYTO": "To"}[key]
	m := mt.head(field)
	if m == nil {
		if key == "DATE" {
			return sortVal{n: row.InternalDate.UnixNano()}
		}
		return sortVal{}
	}
	switch key {
	case "DATE":
		return sortVal{n: m.SentDate(row.InternalDate).UnixNano()}
	case "SUBJECT":
		return sortVal{s: m.SortSubject()}
	case "DISPLAYFROM", "DISPLAYTO":
		return sortVal{s: m.DisplayAddress(field)}
	}
	return sortVal{s: m.SortAddress(field)}
}

// cmdSort serves SORT and UID SORT (RFC 5256 3) with the keys of
// SORT=DISPLAY (RFC 5957), RETURN of ESORT (RFC 5267 3) and PARTIAL
// (RFC 9394).
func (s *session) cmdSort(c *imapwire.Command) result {
	a := c.Args.(*imapwire.SortArgs)
	if r, ok := s.startUpdate(c.Tag, &a.Return); !ok {
		return r
	}
	hits, withModSeq, r, ok := s.matching("SORT", a.Charset, &a.Key)
	if !ok {
		return r
	}
	var err error
	if hits, err = s.sortHits(hits, a.Keys); err != nil {
		return s.storeFail("SORT", err, false)
	}
	if !a.ESearch {
		w := s.w.Untagged().Atom("SORT")
		for _, i := range hits {
			w.Num(s.id(i, c.UID))
		}
		if withModSeq && len(hits) > 0 {
			w.Open().Atom("MODSEQ").Num64(s.highestModSeq(hits)).Close()
		}
		w.End()
		return done("Sort completed.")
	}
	if a.Return.Save {
		s.saveResult(hits, a.Return)
	}
	s.writeESearch(c.Tag, c.UID, hits, a.Return, withModSeq, true)
	if s.addContext(c, a.Return, a.Key, a.Keys, hits) {
		return done("Sort completed, will notify.")
	}
	return done("Sort completed.")
}

// orderedSet formats ids in their order, consecutive ascending runs as
// ranges (RFC 5267 3.2: ESORT's ALL keeps the sort order).
func orderedSet(ids []uint32) string {
	var b strings.Builder
	for k := 0; k < len(ids); {
		j := k
		for j+1 < len(ids) && ids[j+1] == ids[j]+1 {
			j++
		}
		if k > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.FormatUint(uint64(ids[k]), 10))
		if j > k {
			b.WriteByte(':')
			b.WriteString(strconv.FormatUint(uint64(ids[j]), 10))
		}
		k = j + 1
	}
	return b.String()
}

// partialOf returns the results p selects (RFC 9394 3.1): positions
// First..Last from 1, or counted from the end when negative.
func partialOf(hits []int, p imapwire.PartialRange) []int {
	n := int64(len(hits))
	lo, hi := int64(p.First), int64(p.Last)
	if lo < 0 {
		lo, hi = n+1+hi, n+1+lo // -1 is the last
	}
	lo, hi = max(lo, 1), min(hi, n)
	if lo > hi {
		return nil
	}
	return hits[lo-1 : hi]
}

// cmdThread serves THREAD and UID THREAD (RFC 5256 4) with the
// ORDEREDSUBJECT and REFERENCES algorithms.
func (s *session) cmdThread(c *imapwire.Command) result {
	a := c.Args.(*imapwire.ThreadArgs)
	if a.Algorithm != "ORDEREDSUBJECT" && a.Algorithm != "REFERENCES" {
		return bad("Unknown thread algorithm.")
	}
	hits, _, r, ok := s.matching("THREAD", a.Charset, &a.Key)
	if !ok {
		return r
	}
	msgs := make([]imapmsg.ThreadMsg, 0, len(hits))
	err := s.eachHeader(hits, store.PartFields|store.PartDate, func(i int, row *store.Msg, mt *matcher) {
		var t imapmsg.ThreadMsg
		if row != nil {
			if m := mt.head("Subject"); m != nil {
				t = m.ThreadInfo(row.InternalDate)
			} else {
				t.Date = row.InternalDate
			}
		}
		t.ID, t.Seq = s.id(i, c.UID), i+1
		msgs = append(msgs, t)
	})
	if err != nil {
		return s.storeFail("THREAD", err, false)
	}
	var roots []*imapmsg.ThreadNode
	if a.Algorithm == "REFERENCES" {
		roots = imapmsg.References(msgs)
	} else {
		roots = imapmsg.OrderedSubject(msgs)
	}
	w := s.w.Untagged().Atom("THREAD")
	if len(roots) > 0 {
		var b strings.Builder
		for _, n := range roots {
			b.WriteByte('(')
			writeThread(&b, msgs, n)
			b.WriteByte(')')
		}
		w.Atom(b.String())
	}
	w.End()
	return done("Thread completed.")
}

// writeThread writes the members of a thread (RFC 5256 4): the message,
// then its only reply in the same list, or each of several replies as a
// list of its own.
func writeThread(b *strings.Builder, msgs []imapmsg.ThreadMsg, n *imapmsg.ThreadNode) {
	for {
		if n.Msg >= 0 {
			b.WriteString(strconv.FormatUint(uint64(msgs[n.Msg].ID), 10))
		}
		switch {
		case len(n.Children) == 1 && n.Msg >= 0:
			b.WriteByte(' ')
			n = n.Children[0]
			continue
		case len(n.Children) > 0:
			if n.Msg >= 0 {
				b.WriteByte(' ')
			}
			for _, c := range n.Children {
				b.WriteByte('(')
				writeThread(b, msgs, c)
				b.WriteByte(')')
			}
		}
		return
	}
}
