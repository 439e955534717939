package imapserver

import (
	"slices"
	"strings"

	"mailwarden/internal/acl"
	"mailwarden/internal/imapwire"
	"mailwarden/internal/store"
)

// trimDelimiter drops a trailing hierarchy delimiter: "CREATE a." means
// "a" (RFC 9051 6.3.4).
func trimDelimiter(name string) string {
	if len(name) > 1 {
		return strings.TrimSuffix(name, store.Delimiter)
	}
	return name
}

// cmdCreate serves CREATE (RFC 9051 6.3.4) with USE (RFC 6154 5.2).
func (s *session) cmdCreate(c *imapwire.Command) result {
	a := c.Args.(*imapwire.CreateArgs)
	name, ok := s.storeName(trimDelimiter(a.Mailbox))
	if !ok {
		return badName()
	}
	if name == "INBOX" {
		return fail("ALREADYEXISTS", "Mailbox already exists.")
	}
	if reserved(name) {
		return fail("CANNOT", "That name is the root of a shared namespace.")
	}
	p, err := s.locate(name, false)
	if err != nil {
		return s.storeFail("CREATE", err, false)
	}
	if p.kind != nsPersonal {
		if len(a.SpecialUse) > 0 {
			return fail("USEATTR", "Special-use attributes are for one's own mailboxes.")
		}
		// RFC 4314 4: CREATE needs "k" on the parent. The top level of
		// another user's mailboxes, or of the shared ones, has no parent
		// to grant it: those are made by their owner or the administrator.
		k := strings.LastIndex(p.folder, store.Delimiter)
		if k < 0 {
			return fail("NOPERM", "Permission denied.")
		}
		parent := p
		parent.folder = p.folder[:k]
		pp, err := s.locate(s.nameOf(parent), true)
		if err != nil {
			return s.storeFail("CREATE", err, false)
		}
		if !pp.rights.Has(acl.CreateMailbox) {
			return denied(pp)
		}
	}
	if len(a.SpecialUse) > 1 {
		return fail("USEATTR", "Only one special-use attribute per mailbox is supported.")
	}
	use := ""
	if len(a.SpecialUse) == 1 {
		use = a.SpecialUse[0]
	}
	if err := s.srv.o.Store.CreateFolder(s.ctx, p.owner, p.folder, use); err != nil {
		return s.storeFail("CREATE", err, false)
	}
	return doneCode(s.mailboxIDCode(p), "Create completed.") // RFC 8474 4.1
}

// cmdDelete serves DELETE (RFC 9051 6.3.5). Deleting the selected
// mailbox closes it.
func (s *session) cmdDelete(c *imapwire.Command) result {
	a := c.Args.(*imapwire.MailboxArgs)
	// RFC 4314 4: DELETE needs "x".
	p, r, ok := s.target("DELETE", a.Mailbox, acl.DeleteMailbox)
	if !ok {
		return r
	}
	if err := s.srv.o.Store.DeleteFolder(s.ctx, p.owner, p.folder); err != nil {
		return s.storeFail("DELETE", err, false)
	}
	if s.sel != nil && s.sel.full == s.nameOf(p) {
		s.closeMailbox()
		s.w.Untagged().Atom("OK").Text("CLOSED", "Selected mailbox was deleted.").End()
	}
	return done("Delete completed.")
}

// cmdRename serves RENAME (RFC 9051 6.3.6); a selected mailbox renamed
// stays selected under its new name.
func (s *session) cmdRename(c *imapwire.Command) result {
	a := c.Args.(*imapwire.RenameArgs)
	// RFC 4314 4: RENAME needs "x" on the old name and "k" on the new
	// parent; it stays within one owner's mailboxes.
	src, r, ok := s.target("RENAME", a.From, acl.DeleteMailbox)
	if !ok {
		return r
	}
	toName, ok := s.storeName(trimDelimiter(a.To))
	if !ok {
		return badName()
	}
	if reserved(toName) {
		return fail("CANNOT", "That name is the root of a shared namespace.")
	}
	dst, err := s.locate(toName, false)
	if err != nil {
		return s.storeFail("RENAME", err, false)
	}
	if dst.kind != src.kind || dst.owner.Username != src.owner.Username {
		return fail("CANNOT", "Mailboxes can't be moved to another namespace or owner.")
	}
	if src.kind != nsPersonal {
		k := strings.LastIndex(dst.folder, store.Delimiter)
		if k < 0 {
			return fail("NOPERM", "Permission denied.")
		}
		parent := dst
		parent.folder = dst.folder[:k]
		pp, err := s.locate(s.nameOf(parent), true)
		if err != nil {
			return s.storeFail("RENAME", err, false)
		}
		if !pp.rights.Has(acl.CreateMailbox) {
			return denied(pp)
		}
	}
	from, to := src.folder, dst.folder
	if err := s.srv.o.Store.RenameFolder(s.ctx, src.owner, from, to); err != nil {
		return s.storeFail("RENAME", err, false)
	}
	if m := s.sel; m != nil && from != "INBOX" && m.at.owner.Username == src.owner.Username {
		if m.name == from {
			m.name = to
		} else if strings.HasPrefix(m.name, from+store.Delimiter) {
			m.name = to + m.name[len(from):]
		}
		m.at.folder = m.name
		m.full = s.nameOf(m.at)
	}
	return done("Rename completed.")
}

// cmdSubscribe serves SUBSCRIBE and UNSUBSCRIBE (RFC 9051 6.3.7, 6.3.8).
func (s *session) cmdSubscribe(c *imapwire.Command) result {
	a := c.Args.(*imapwire.MailboxArgs)
	name, ok := s.storeName(a.Mailbox)
	if !ok {
		return badName()
	}
	on := c.Name == "SUBSCRIBE"
	if _, _, _, shared := splitShared(name); shared {
		// A name of another mailbox: it must be visible to subscribe.
		if on {
			p, err := s.locate(name, true)
			if err != nil {
				return s.storeFail(c.Name, err, false)
			}
			if !p.rights.Has(acl.Lookup) {
				return denied(p)
			}
		}
		if err := s.srv.o.Store.SubscribeName(s.ctx, s.acct, name, on); err != nil {
			return s.storeFail(c.Name, err, false)
		}
	} else if err := s.srv.o.Store.SetSubscribed(s.ctx, s.acct, name, on); err != nil {
		return s.storeFail(c.Name, err, false)
	}
	if on {
		return done("Subscribe completed.")
	}
	return done("Unsubscribe completed.")
}

// cmdStatus serves STATUS (RFC 9051 6.3.11) with SIZE (RFC 8438) and
// HIGHESTMODSEQ (RFC 7162 3.1.6).
func (s *session) cmdStatus(c *imapwire.Command) result {
	a := c.Args.(*imapwire.StatusArgs)
	// RFC 4314 4: STATUS needs "r".
	p, r, ok := s.target("STATUS", a.Mailbox, acl.Read)
	if !ok {
		return r
	}
	info, err := s.srv.o.Store.Folder(s.ctx, p.owner, p.folder)
	if err != nil {
		return s.storeFail("STATUS", err, false)
	}
	if slices.Contains(a.Items, "HIGHESTMODSEQ") {
		s.enableCondstore()
	}
	s.writeStatus(s.nameOf(p), info, a.Items)
	return done("Status completed.")
}

// writeStatus sends "* STATUS name (item value ...)"; name is the
// store-form IMAP name of the folder info describes.
func (s *session) writeStatus(name string, info store.FolderInfo, items []string) {
	mailboxID := s.statusMailboxID(name, items)
	w := s.mailbox(s.w.Untagged().Atom("STATUS"), name).Open()
	for _, it := range items {
		if it == "MAILBOXID" && mailboxID == "" {
			continue
		}
		w.Atom(it)
		switch it {
		case "MAILBOXID":
			w.Open().Atom(mailboxID).Close() // RFC 8474 4.3
		case "MESSAGES":
			w.Num64(uint64(info.Messages))
		case "UIDNEXT":
			w.Num64(uint64(info.UIDNext))
		case "UIDVALIDITY":
			w.Num64(uint64(info.UIDValidity))
		case "UNSEEN":
			w.Num64(uint64(info.Unseen))
		case "DELETED":
			w.Num64(uint64(info.Deleted))
		case "SIZE":
			w.Num64(uint64(info.Size))
		case "HIGHESTMODSEQ":
			w.Num64(uint64(info.HighestModSeq))
		case "RECENT":
			n := info.Recent // unclaimed, and those this session holds
			if s.sel != nil && s.sel.full == name {
				n += int64(s.sel.recentCount())
			}
			w.Num64(uint64(n))
		case "APPENDLIMIT":
			w.Num64(uint64(s.appendLimit()))
		default:
			w.NIL()
		}
	}
	w.Close().End()
}
