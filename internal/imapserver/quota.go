package imapserver

import (
	"mailwarden/internal/imapwire"
)

// A mailbox with a quota has one quota root, "" (RFC 9208 3.3). A mailbox
// without one has no quota root: a QUOTA response must list at least one
// limited resource (RFC 9208 9), and there is none to list.
const quotaRoot = ""

// writeQuota sends `* QUOTA "" (STORAGE used limit)`, in KiB.
func (s *session) writeQuota() error {
	used, _, err := s.srv.o.Store.Usage(s.ctx, s.mb.Username)
	if err != nil {
		return err
	}
	s.w.Untagged().Atom("QUOTA").String(quotaRoot).Open().
		Atom("STORAGE").Num64(uint64((used + 1023) / 1024)).Num64(uint64(s.mb.Quota / 1024)).
		Close().End()
	return nil
}

// cmdGetQuota serves GETQUOTA (RFC 9208 4.2).
func (s *session) cmdGetQuota(c *imapwire.Command) result {
	a := c.Args.(*imapwire.GetQuotaArgs)
	if a.Root != quotaRoot || s.mb.Quota <= 0 {
		return fail("NONEXISTENT", "No such quota root.")
	}
	if err := s.writeQuota(); err != nil {
		return s.storeFail("GETQUOTA", err, false)
	}
	return done("Getquota completed.")
}

// cmdGetQuotaRoot serves GETQUOTAROOT (RFC 9208 4.3).
func (s *session) cmdGetQuotaRoot(c *imapwire.Command) result {
	a := c.Args.(*imapwire.MailboxArgs)
	p, r, ok := s.target("GETQUOTAROOT", a.Mailbox, 0)
	if !ok {
		return r
	}
	if _, err := s.srv.o.Store.Folder(s.ctx, p.owner, p.folder); err != nil {
		return s.storeFail("GETQUOTAROOT", err, false)
	}
	w := s.mailbox(s.w.Untagged().Atom("QUOTAROOT"), s.nameOf(p))
	// The user's quota root covers its own mailboxes only.
	if s.mb.Quota <= 0 || p.kind != nsPersonal {
		w.End()
		return done("Getquotaroot completed.")
	}
	w.String(quotaRoot).End()
	if err := s.writeQuota(); err != nil {
		return s.storeFail("GETQUOTAROOT", err, false)
	}
	return done("Getquotaroot completed.")
}

// cmdSetQuota: quotas are set by the administrator (RFC 9208 4.1).
func (s *session) cmdSetQuota(*imapwire.Command) result {
	return fail("NOPERM", "Quota can't be changed over IMAP.")
}
