package smtpserver

import (
	"context"
	"errors"
	"strings"

	"github.com/emersion/go-smtp"

	"mailwarden/internal/directory"
)

// submitCheck applies the submission rules at MAIL: TLS first
// (smtpd_tls_security_level=encrypt), then AUTH unless the client is in
// mynetworks, then reject_sender_login_mismatch for authenticated users.
func (s *session) submitCheck(from, user string) *smtp.SMTPError {
	c := s.c
	if !s.plaintextOK() {
		return errNeedTLS
	}
	if user == "" {
		if c.srv.mode.permitMyNetworks(c.cfg) && c.ip.IsValid() && c.cfg.InMyNetworks(c.ip) {
			return nil
		}
		return errAuthRequired
	}
	if from == "" || !c.cfg.Submission.RejectSenderLoginMismatch { // bounces and DSNs carry the null sender
		return nil
	}
	ctx, cancel := context.WithTimeout(c.srv.ctx, lookupTimeout)
	defer cancel()
	res, err := c.srv.o.Resolver.Resolve(ctx, from, c.cfg.RecipientDelimiter)
	switch {
	case errors.Is(err, directory.ErrBadAddress):
		return rcptError(501, 5, 1, 7, from, "Bad sender address syntax")
	case err != nil && !errors.Is(err, directory.ErrUnknownUser):
		c.srv.log.Warn("sender lookup <" + from + ">: " + err.Error())
		return rcptError(451, 4, 3, 0, from, "Temporary lookup failure")
	}
	if owns(res, user) {
		return nil
	}
	return rcptError(553, 5, 7, 1, from, "Sender address rejected: not owned by user "+user)
}

// owns reports whether an address that resolved to res belongs to user:
// it is the user's own address (with or without an extension) or an alias
// one of whose targets is the user's mailbox (Postfix
// smtpd_sender_login_maps over the virtual alias and mailbox maps).
func owns(res directory.Resolution, user string) bool {
	if res.Class == directory.Foreign {
		return false
	}
	for _, d := range res.Destinations {
		if d.Kind == directory.Local && strings.EqualFold(d.Mailbox.Username, user) {
			return true
		}
	}
	return false
}
