package imapserver

import (
	"errors"

	"mailwarden/internal/acl"
	"mailwarden/internal/imapwire"
	"mailwarden/internal/store"
)

var (
	// errGone: the message's file is gone (another session expunged it).
	errGone = errors.New("message expunged")
	// errUnknownCTE: BINARY of a part with an unknown transfer encoding.
	errUnknownCTE = errors.New("unknown content-transfer-encoding")
)

// cmdFetch serves FETCH and UID FETCH (RFC 9051 6.4.5), with CHANGEDSINCE
// and VANISHED (RFC 7162 3.1.4, 3.2.6).
func (s *session) cmdFetch(c *imapwire.Command) result {
	a := c.Args.(*imapwire.FetchArgs)
	if a.Vanished && !s.qresync {
		return bad("VANISHED requires QRESYNC to be enabled.")
	}
	idx, ok := s.resolve(a.Set, c.UID)
	if !ok {
		return bad("Invalid message sequence number.")
	}
	items := s.fetchItems(a, c.UID)
	if a.Vanished {
		if err := s.fetchVanished(a.Set, int64(a.ChangedSince)); err != nil {
			return s.storeFail("FETCH", err, false)
		}
	}
	if a.HasChangedSince {
		kept := idx[:0]
		for _, i := range idx {
			if s.sel.modseqs[i] > a.ChangedSince {
				kept = append(kept, i)
			}
		}
		idx = kept
	}
	seen := s.implicitSeen(idx, items)
	// Sizes, dates, files and header caches come from the store, one
	// query per chunk of messages, and only when an item needs them:
	// UID, FLAGS and MODSEQ are in the view.
	rowsFor := s.fetchRows(items)
	var fills *cacheFills
	if usesCache(items) {
		fills = &cacheFills{s: s}
	}
	var gone, badCTE bool
	for len(idx) > 0 {
		chunk := idx[:min(len(idx), fetchChunk)]
		idx = idx[len(chunk):]
		var rows []store.Msg
		if rowsFor != nil {
			var err error
			if rows, err = rowsFor(s.uidsOf(chunk)); err != nil {
				fills.flush()
				return s.storeFail("FETCH", err, false)
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
			err := s.fetchOne(uint32(i+1), st, row, fills, items, seen[int64(st.uid)])
			switch {
			case errors.Is(err, errUnknownCTE):
				badCTE = true
			case err != nil:
				gone = true
			}
		}
		fills.flush()
	}
	switch {
	case badCTE:
		return fail("UNKNOWN-CTE", "Unknown Content-Transfer-Encoding.")
	case gone:
		return fail("EXPUNGEISSUED", "Some of the requested messages no longer exist.")
	}
	return done("Fetch completed.")
}

// fetchItems completes the requested items: UID FETCH always returns UID,
// CHANGEDSINCE always MODSEQ; MODSEQ and CHANGEDSINCE enable CONDSTORE.
func (s *session) fetchItems(a *imapwire.FetchArgs, uid bool) []imapwire.FetchItem {
	var hasUID, hasModSeq bool
	for _, it := range a.Items {
		hasUID = hasUID || it.Kind == imapwire.FetchUID
		hasModSeq = hasModSeq || it.Kind == imapwire.FetchModSeq
	}
	items := a.Items
	// RFC 9586 3.3: under UIDONLY the UID heads the response and the
	// item comes only when asked for.
	if uid && !hasUID && !s.uidOnly {
		items = append([]imapwire.FetchItem{{Kind: imapwire.FetchUID, Name: "UID"}}, items...)
	}
	if a.HasChangedSince || hasModSeq {
		s.enableCondstore()
	}
	if a.HasChangedSince && !hasModSeq {
		items = append(items, imapwire.FetchItem{Kind: imapwire.FetchModSeq, Name: "MODSEQ"})
	}
	return items
}

// fetchVanished sends "* VANISHED (EARLIER)" for the UIDs of set expunged
// after modseq (RFC 7162 3.2.6).
func (s *session) fetchVanished(set imapwire.SeqSet, modseq int64) error {
	_, vanished, _, err := s.srv.o.Store.Changes(s.ctx, s.sel.at.owner, s.sel.name, modseq)
	if err != nil {
		return err
	}
	top := uint32(s.sel.maxUID())
	var uids []uint32
	for _, u := range vanished {
		if set.Contains(uint32(u), max(top, uint32(u))) && s.sel.index(u) < 0 {
			uids = append(uids, uint32(u))
		}
	}
	if len(uids) > 0 {
		s.w.Untagged().Atom("VANISHED").Open().Atom("EARLIER").Close().SeqSet(imapwire.NewSeqSet(uids...)).End()
	}
	return nil
}

// setsSeen reports whether fetching it sets \Seen (RFC 9051 6.4.5).
func setsSeen(it imapwire.FetchItem) bool {
	switch it.Kind {
	case imapwire.FetchBodySection, imapwire.FetchBinary:
		return !it.Peek
	case imapwire.FetchRFC822, imapwire.FetchRFC822Text:
		return true
	}
	return false
}

// fetchChunk is how many messages a FETCH reads from the index at once:
// enough to make the per-query cost small, few enough to keep the rows
// (with their header caches) small in memory.
const fetchChunk = 500

// rowsFunc reads the index rows of the messages uids of the selected
// mailbox.
type rowsFunc func(uids []int64) ([]store.Msg, error)

// fetchRows returns how a FETCH of items reads the index rows: what the
// header cache answers from the cache, the rest (sizes, dates, files)
// from the message rows; nil when the view has all the items need.
func (s *session) fetchRows(items []imapwire.FetchItem) rowsFunc {
	var parts store.Parts
	for _, it := range items {
		switch {
		case it.Kind == imapwire.FetchInternalDate:
			parts |= store.PartDate
		case it.Kind == imapwire.FetchRFC822Size:
			parts |= store.PartSize
		case it.Kind == imapwire.FetchSaveDate:
			parts |= store.PartSaveDate
		case it.Kind == imapwire.FetchEmailID:
			parts |= store.PartEmailID
		case it.Kind == imapwire.FetchThreadID:
		case fromCache(it) && it.Kind == imapwire.FetchEnvelope && !s.w.UTF8:
			parts |= store.PartEnvelope
		case fromCache(it):
			parts |= store.PartFields
		case needsContent(it):
			parts |= store.PartFile
		}
	}
	if parts == 0 {
		return nil
	}
	return s.rowsWith(parts)
}

// rowsWith returns a rowsFunc reading parts.
func (s *session) rowsWith(parts store.Parts) rowsFunc {
	st, acct, name := s.srv.o.Store, s.sel.at.owner, s.sel.name
	return func(uids []int64) ([]store.Msg, error) { return st.MessagesWith(s.ctx, acct, name, uids, parts) }
}

// usesCache reports whether an item may be answered from the header cache.
func usesCache(items []imapwire.FetchItem) bool {
	for _, it := range items {
		if fromCache(it) {
			return true
		}
	}
	return false
}

// needsRow reports whether items need more of a message than the view
// holds: its size, internal date, header cache or file.
func needsRow(items []imapwire.FetchItem) bool {
	for _, it := range items {
		if it.Kind == imapwire.FetchInternalDate || it.Kind == imapwire.FetchRFC822Size || it.Kind == imapwire.FetchSaveDate ||
			it.Kind == imapwire.FetchEmailID || needsContent(it) {
			return true
		}
	}
	return false
}

// needsContent reports whether it needs the message file.
func needsContent(it imapwire.FetchItem) bool {
	switch it.Kind {
	case imapwire.FetchUID, imapwire.FetchFlags, imapwire.FetchInternalDate,
		imapwire.FetchRFC822Size, imapwire.FetchModSeq, imapwire.FetchSaveDate,
		imapwire.FetchEmailID, imapwire.FetchThreadID:
		return false
	}
	return true
}

// implicitSeen sets \Seen on the messages a body fetch reads, unless the
// mailbox is read-only, and returns those it changed: their FETCH
// responses include FLAGS.
func (s *session) implicitSeen(idx []int, items []imapwire.FetchItem) map[int64]bool {
	if s.sel.readOnly || !s.sel.at.rights.Has(acl.Seen) {
		return nil // RFC 4314 4: without "s", a body fetch leaves \Seen alone
	}
	want := false
	for _, it := range items {
		want = want || setsSeen(it)
	}
	if !want {
		return nil
	}
	var uids []int64
	for _, i := range idx {
		if !hasFlag(s.sel.flagsAt(i), `\Seen`) {
			uids = append(uids, s.sel.uid(i))
		}
	}
	if len(uids) == 0 {
		return nil
	}
	updated, _, err := s.srv.o.Store.StoreFlags(s.ctx, s.sel.at.owner, s.sel.name, uids, store.FlagsAdd, []string{`\Seen`}, 0)
	if err != nil {
		s.logError("FETCH", err)
		return nil
	}
	out := make(map[int64]bool, len(updated))
	for _, m := range updated {
		if s.sel.setMsg(m) {
			out[m.UID] = true
		}
	}
	return out
}

// fetchOne writes the FETCH response of one message: msg is its state in
// the view, row its index entry, which must be there when needsRow(items)
// (it is not when another session expunged the message); fills collects
// header caches made from files. Everything that can fail is read before
// the response starts, except the streaming of message text, whose
// failure breaks the connection anyway.
func (s *session) fetchOne(seq uint32, msg msgState, row *store.Msg, fills *cacheFills, items []imapwire.FetchItem, seenSet bool) error {
	if row == nil && needsRow(items) {
		return errGone
	}
	var c *content
	var buf [4]piece
	pieces := buf[:0]
	if len(items) > len(buf) {
		pieces = make([]piece, 0, len(items))
	}
	for _, it := range items {
		if !needsContent(it) {
			pieces = append(pieces, piece{})
			continue
		}
		if c == nil {
			c = s.newContent(row, fills)
			defer c.close()
		}
		p, err := prepare(c, it)
		if errors.Is(err, errUnknownCTE) {
			return err
		}
		if err != nil {
			return errGone
		}
		pieces = append(pieces, p)
	}
	w := s.fetchStart(seq, msg.uid)
	var hasFlags, hasModSeq bool
	for k, it := range items {
		switch it.Kind {
		case imapwire.FetchUID:
			w.Atom("UID").Num(msg.uid)
		case imapwire.FetchFlags:
			hasFlags = true
			w.Atom("FLAGS").Flags(msg.flags)
		case imapwire.FetchInternalDate:
			w.Atom("INTERNALDATE").DateTime(row.InternalDate)
		case imapwire.FetchRFC822Size:
			w.Atom("RFC822.SIZE").Num64(uint64(row.Size))
		case imapwire.FetchModSeq:
			hasModSeq = true
			w.Atom("MODSEQ").Open().Num64(msg.modseq).Close()
		case imapwire.FetchSaveDate:
			// RFC 8514 4.3: NIL for a message whose save date is unknown
			// (stored before save dates were kept).
			if row.SaveDate.IsZero() {
				w.Atom("SAVEDATE").NIL()
			} else {
				w.Atom("SAVEDATE").DateTime(row.SaveDate)
			}
		case imapwire.FetchEmailID:
			writeObjectID(w, it.Kind, row.EmailID)
		case imapwire.FetchThreadID:
			writeObjectID(w, it.Kind, "")
		default:
			pieces[k].write(w, c, it)
		}
	}
	if seenSet && !hasFlags {
		w.Atom("FLAGS").Flags(msg.flags)
	}
	if seenSet && s.condstore && !hasModSeq {
		w.Atom("MODSEQ").Open().Num64(msg.modseq).Close()
	}
	w.Close().End()
	return nil
}
