package imapserver

import (
	"math"
	"slices"
	"time"

	"mailwarden/internal/imapmsg"
	"mailwarden/internal/imapwire"
	"mailwarden/internal/store"
)

// cost ranks search keys by what they read: the index only, the header,
// or the whole message.
func cost(k *imapwire.SearchKey) int {
	switch k.Op {
	case imapwire.SearchHeader, imapwire.SearchSentBefore, imapwire.SearchSentOn, imapwire.SearchSentSince:
		return 1
	case imapwire.SearchBody, imapwire.SearchText:
		return 2
	case imapwire.SearchAnd, imapwire.SearchOr, imapwire.SearchNot:
		c := 0
		for i := range k.Children {
			c = max(c, cost(&k.Children[i]))
		}
		return c
	}
	return 0
}

// cheapFirst reorders the children of every AND so that keys answered
// from the index run before those that read the message.
func cheapFirst(k *imapwire.SearchKey) {
	for i := range k.Children {
		cheapFirst(&k.Children[i])
	}
	if k.Op == imapwire.SearchAnd {
		slices.SortStableFunc(k.Children, func(a, b imapwire.SearchKey) int { return cost(&a) - cost(&b) })
	}
}

// searchParts returns what the program needs of the messages beyond the
// view: internal dates and sizes, the header cache's fields for header
// keys on cached fields, the files for the other content keys.
func searchParts(k *imapwire.SearchKey) store.Parts {
	switch k.Op {
	case imapwire.SearchBefore, imapwire.SearchOn, imapwire.SearchSince:
		return store.PartDate
	case imapwire.SearchLarger, imapwire.SearchSmaller:
		return store.PartSize
	case imapwire.SearchSavedBefore, imapwire.SearchSavedOn, imapwire.SearchSavedSince:
		return store.PartSaveDate
	case imapwire.SearchEmailID:
		return store.PartEmailID
	case imapwire.SearchBody, imapwire.SearchText:
		return store.PartFile
	case imapwire.SearchSentBefore, imapwire.SearchSentOn, imapwire.SearchSentSince:
		// Without a Date: field, the internal date stands in.
		return store.PartFields | store.PartDate
	case imapwire.SearchHeader:
		if imapmsg.CachedField(k.Field) {
			return store.PartFields
		}
		return store.PartFile
	}
	var p store.Parts
	for i := range k.Children {
		p |= searchParts(&k.Children[i])
	}
	return p
}

// usesModSeq reports whether the program has a MODSEQ key (RFC 7162
// 3.1.5: the response then carries the highest MODSEQ).
func usesModSeq(k *imapwire.SearchKey) bool {
	if k.Op == imapwire.SearchModSeq {
		return true
	}
	for i := range k.Children {
		if usesModSeq(&k.Children[i]) {
			return true
		}
	}
	return false
}

// matcher evaluates a search program against one message, answering
// header keys from the index's header cache when it holds the field and
// opening the file only when a key needs more. row is the message's
// index entry, read when the program needs it; without it (another
// session expunged the message) date, size and content keys do not
// match.
type matcher struct {
	s      *session
	seq    uint32
	msg    msgState
	row    *store.Msg
	fills  *cacheFills
	c      *content
	failed bool // the file could not be read: content keys do not match
	saved  map[int64]bool
}

func (mt *matcher) close() {
	mt.c.close()
	mt.c = nil
}

// content returns the message's content, nil without a row.
func (mt *matcher) content() *content {
	if mt.c == nil && mt.row != nil {
		mt.c = mt.s.newContent(mt.row, mt.fills)
	}
	return mt.c
}

// head returns what answers a search on the header field named field:
// the cached fields when they include it, else the header from the file.
func (mt *matcher) head(field string) *imapmsg.Message {
	c := mt.content()
	if c == nil {
		return nil
	}
	if c.cacheValid() && imapmsg.CachedField(field) {
		return c.cachedMessage()
	}
	if mt.failed {
		return nil
	}
	m, err := c.headerMessage()
	if err != nil {
		mt.failed = true
		return nil
	}
	return m
}

func (mt *matcher) full() *imapmsg.Message {
	c := mt.content()
	if c == nil || mt.failed {
		return nil
	}
	m, err := c.message()
	if err != nil {
		mt.failed = true
		return nil
	}
	return m
}

// day is the calendar date of t in its own zone, as midnight UTC, to
// compare with search dates (RFC 9051 6.4.4: time and zone disregarded).
func day(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}

// sentDate is the Date: header's date, or the internal date without one.
func (mt *matcher) sentDate() (time.Time, bool) {
	m := mt.head("Date")
	if m == nil {
		return time.Time{}, false
	}
	if d := m.Date(); !d.IsZero() {
		return day(d), true
	}
	return day(mt.row.InternalDate), true
}

func (mt *matcher) match(k *imapwire.SearchKey) bool {
	msg, row := &mt.msg, mt.row
	switch k.Op {
	case imapwire.SearchAll:
		return true
	case imapwire.SearchAnd:
		for i := range k.Children {
			if !mt.match(&k.Children[i]) {
				return false
			}
		}
		return true
	case imapwire.SearchOr:
		return mt.match(&k.Children[0]) || mt.match(&k.Children[1])
	case imapwire.SearchNot:
		return !mt.match(&k.Children[0])
	case imapwire.SearchSeq:
		if k.Set.Saved {
			return mt.saved[int64(msg.uid)]
		}
		return k.Set.Contains(mt.seq, uint32(mt.s.sel.count()))
	case imapwire.SearchUID:
		if k.Set.Saved {
			return mt.saved[int64(msg.uid)]
		}
		return k.Set.Contains(msg.uid, uint32(min(mt.s.sel.maxUID(), math.MaxUint32)))
	case imapwire.SearchFlag:
		return hasFlag(msg.flags, k.Flag)
	case imapwire.SearchNoFlag:
		return !hasFlag(msg.flags, k.Flag)
	case imapwire.SearchBefore:
		return row != nil && day(row.InternalDate).Before(k.Date)
	case imapwire.SearchOn:
		return row != nil && day(row.InternalDate).Equal(k.Date)
	case imapwire.SearchSince:
		return row != nil && !day(row.InternalDate).Before(k.Date)
	case imapwire.SearchLarger:
		return row != nil && uint64(row.Size) > k.Size
	case imapwire.SearchSmaller:
		return row != nil && uint64(row.Size) < k.Size
	case imapwire.SearchModSeq:
		return msg.modseq >= k.ModSeq
	case imapwire.SearchEmailID: // RFC 8474 6
		return row != nil && row.EmailID == k.Value
	case imapwire.SearchThreadID:
		return false // every THREADID is NIL (RFC 8474 5.2)
	case imapwire.SearchSaveDateSupported:
		return true // every folder keeps save dates (RFC 8514 4.2)
	case imapwire.SearchSavedBefore:
		return row != nil && !row.SaveDate.IsZero() && day(row.SaveDate).Before(k.Date)
	case imapwire.SearchSavedOn:
		return row != nil && !row.SaveDate.IsZero() && day(row.SaveDate).Equal(k.Date)
	case imapwire.SearchSavedSince:
		return row != nil && !row.SaveDate.IsZero() && !day(row.SaveDate).Before(k.Date)
	case imapwire.SearchSentBefore, imapwire.SearchSentOn, imapwire.SearchSentSince:
		d, ok := mt.sentDate()
		switch {
		case !ok:
			return false
		case k.Op == imapwire.SearchSentBefore:
			return d.Before(k.Date)
		case k.Op == imapwire.SearchSentOn:
			return d.Equal(k.Date)
		}
		return !d.Before(k.Date)
	case imapwire.SearchHeader:
		m := mt.head(k.Field)
		return m != nil && m.HeaderContains(k.Field, k.Value)
	case imapwire.SearchBody:
		m := mt.full()
		return m != nil && m.BodyContains(k.Value)
	case imapwire.SearchText:
		m := mt.full()
		return m != nil && m.TextContains(k.Value)
	}
	return false
}
