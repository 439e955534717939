package imapserver

import (
	"strings"

	"mailwarden/internal/acl"
	"mailwarden/internal/imapwire"
	"mailwarden/internal/store"
)

var storeOps = map[imapwire.StoreOp]store.FlagOp{
	imapwire.StoreReplace: store.FlagsSet,
	imapwire.StoreAdd:     store.FlagsAdd,
	imapwire.StoreRemove:  store.FlagsRemove,
}

// cmdStore serves STORE and UID STORE (RFC 9051 6.4.6) with UNCHANGEDSINCE
// (RFC 7162 3.1.3).
func (s *session) cmdStore(c *imapwire.Command) result {
	a := c.Args.(*imapwire.StoreArgs)
	if s.sel.readOnly {
		return fail("READ-ONLY", "Mailbox is read-only.")
	}
	for _, f := range a.Flags {
		if strings.EqualFold(f, `\Recent`) {
			return bad(`\Recent can't be stored.`)
		}
	}
	idx, ok := s.resolve(a.Set, c.UID)
	if !ok {
		return bad("Invalid message sequence number.")
	}
	if a.HasUnchangedSince {
		s.enableCondstore()
	}
	uids := s.uidsOf(idx)
	var updated []store.Msg
	var failed []int64
	if a.HasUnchangedSince && a.UnchangedSince == 0 {
		// Every message has a MODSEQ above 0 (RFC 7162 3.1.3).
		failed = uids
	} else if len(uids) > 0 {
		var err error
		var may func(string) bool
		if s.sel.at.rights != acl.All {
			may = s.sel.mayStore // RFC 4314 4: flags without the right stay as they are
		}
		updated, failed, err = s.srv.o.Store.StoreFlagsMay(s.ctx, s.sel.at.owner, s.sel.name, uids, storeOps[a.Op], a.Flags, int64(a.UnchangedSince), may)
		if err != nil {
			return s.storeFail("STORE", err, false)
		}
	}
	// A keyword new to the mailbox is announced in FLAGS before the FETCH
	// that shows it, so that a client never sees an unannounced flag.
	for _, m := range updated {
		s.sel.noteKeywords(m.Flags)
	}
	s.announceKeywords()
	for _, m := range updated {
		i := s.sel.index(m.UID)
		if i < 0 {
			continue
		}
		changed := s.sel.modseqs[i] != uint64(m.ModSeq)
		s.sel.setMsg(m)
		switch {
		case !a.Silent:
			s.writeFlagsFetch(uint32(i+1), s.sel.state(i), false)
		case s.condstore && changed:
			// RFC 7162 3.1.3: .SILENT still reports the new MODSEQ.
			s.writeFlagsFetch(uint32(i+1), s.sel.state(i), true)
		}
	}
	if len(failed) == 0 {
		return done("Store completed.")
	}
	nums := make([]uint32, 0, len(failed))
	for _, u := range failed {
		if c.UID {
			nums = append(nums, uint32(u))
		} else if i := s.sel.index(u); i >= 0 {
			nums = append(nums, uint32(i+1))
		}
	}
	return doneCode("MODIFIED "+imapwire.NewSeqSet(nums...).String(), "Conditional store failed.")
}
