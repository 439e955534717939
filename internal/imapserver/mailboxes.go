package imapserver

import (
	"slices"
	"strings"

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
	if len(a.SpecialUse) > 1 {
		return fail("USEATTR", "Only one special-use attribute per mailbox is supported.")
	}
	use := ""
	if len(a.SpecialUse) == 1 {
		use = a.SpecialUse[0]
	}
	if err := s.srv.o.Store.CreateFolder(s.ctx, s.acct, name, use); err != nil {
		return s.storeFail("CREATE", err, false)
	}
	return done("Create completed.")
}

// cmdDelete serves DELETE (RFC 9051 6.3.5). Deleting the selected
// mailbox closes it.
func (s *session) cmdDelete(c *imapwire.Command) result {
	a := c.Args.(*imapwire.MailboxArgs)
	name, ok := s.storeName(a.Mailbox)
	if !ok {
		return badName()
	}
	if err := s.srv.o.Store.DeleteFolder(s.ctx, s.acct, name); err != nil {
		return s.storeFail("DELETE", err, false)
	}
	if s.sel != nil && s.sel.name == name {
		s.closeMailbox()
		s.w.Untagged().Atom("OK").Text("CLOSED", "Selected mailbox was deleted.").End()
	}
	return done("Delete completed.")
}

// cmdRename serves RENAME (RFC 9051 6.3.6); a selected mailbox renamed
// stays selected under its new name.
func (s *session) cmdRename(c *imapwire.Command) result {
	a := c.Args.(*imapwire.RenameArgs)
	from, ok1 := s.storeName(a.From)
	to, ok2 := s.storeName(trimDelimiter(a.To))
	if !ok1 || !ok2 {
		return badName()
	}
	if err := s.srv.o.Store.RenameFolder(s.ctx, s.acct, from, to); err != nil {
		return s.storeFail("RENAME", err, false)
	}
	if m := s.sel; m != nil && from != "INBOX" {
		if m.name == from {
			m.name = to
		} else if strings.HasPrefix(m.name, from+store.Delimiter) {
			m.name = to + m.name[len(from):]
		}
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
	if err := s.srv.o.Store.SetSubscribed(s.ctx, s.acct, name, on); err != nil {
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
	name, ok := s.storeName(a.Mailbox)
	if !ok {
		return badName()
	}
	info, err := s.srv.o.Store.Folder(s.ctx, s.acct, name)
	if err != nil {
		return s.storeFail("STATUS", err, false)
	}
	if slices.Contains(a.Items, "HIGHESTMODSEQ") {
		s.enableCondstore()
	}
	s.writeStatus(info, a.Items)
	return done("Status completed.")
}

// writeStatus sends "* STATUS name (item value ...)".
func (s *session) writeStatus(info store.FolderInfo, items []string) {
	w := s.mailbox(s.w.Untagged().Atom("STATUS"), info.Name).Open()
	for _, it := range items {
		w.Atom(it)
		switch it {
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
			if s.sel != nil && s.sel.name == info.Name {
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
