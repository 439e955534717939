package policy

import (
	"context"
	"errors"
	"log/slog"
	"strings"

	"mailwarden/internal/config"
	"mailwarden/internal/directory"
)

// Deps are the lookups the built-in checks need.
type Deps struct {
	// Resolve finds where an address goes (directory.Directory.Resolve
	// with the configured recipient delimiter).
	Resolve func(ctx context.Context, addr string) (directory.Resolution, error)
	// QuotaFull reports whether mailbox m cannot take size more bytes.
	QuotaFull func(ctx context.Context, m directory.Mailbox, size int64) (bool, error)
	Log       *slog.Logger
	// OpenTable opens a lookup table ("cidr:/etc/...") for the access
	// restrictions; nil opens it with internal/table.
	OpenTable func(spec string) (Table, error)
	// Restrictions are named restrictions supplied from outside this
	// package (check_greylist from internal/greylist, ...), by lower-case
	// name; they take precedence over the built-in ones.
	Restrictions map[string]Factory
	// DNS answers the DNS-based restrictions (reject_rbl_client,
	// reject_unknown_sender_domain, ...): dnsx.New's resolver. Nil lets
	// Build check a config; such a check then warns and answers 451
	// (or, for the lists Postfix skips on DNS trouble, nothing).
	DNS DNS
	// DNSCache keeps DNS list answers across connections for their TTL;
	// nil gives each Build its own.
	DNSCache *DNSCache
}

// Factory builds one restriction from its arguments (the words after its
// name in the list entry) for a list of kind k. A Factory that needs a
// dependency it lacks returns an error naming it.
type Factory func(k Kind, args []string) (Check, error)

// factories are the restrictions of this package that live in files of
// their own (each registers itself in an init function), by lower-case
// name, so adding one does not touch the switch in builder.one.
var factories = map[string]func(b *builder, k Kind, args []string) (Check, error){}

func (d Deps) warn(msg string) {
	if d.Log != nil {
		d.Log.Warn(msg)
	}
}

func reject(code int, enh, text string) Verdict {
	a := Reject
	if code/100 == 4 {
		a = Defer
	}
	return Verdict{Action: a, Code: code, Enhanced: enh, Text: text}
}

// PermitMyNetworks is permit_mynetworks: the client is in mynetworks.
var PermitMyNetworks = Func("permit_mynetworks", func(_ context.Context, r *Request) Verdict {
	if r.MyNetworks {
		return Verdict{Action: Permit}
	}
	return Verdict{}
})

// PermitSASLAuthenticated is permit_sasl_authenticated.
var PermitSASLAuthenticated = Func("permit_sasl_authenticated", func(_ context.Context, r *Request) Verdict {
	if r.Env != nil && r.Env.AuthUser != "" {
		return Verdict{Action: Permit}
	}
	return Verdict{}
})

// RejectUnauthDestination is reject_unauth_destination: never an open
// relay; a recipient outside our domains (local, relay_domains, backup
// MX) is refused unless an earlier check permitted the client.
var RejectUnauthDestination = Func("reject_unauth_destination", func(_ context.Context, r *Request) Verdict {
	if r.Resolution != nil && r.Resolution.Class == directory.Foreign {
		return reject(554, "5.7.1", "<"+r.Recipient+">: Relay access denied")
	}
	return Verdict{}
})

// RejectUnlistedRecipient is reject_unlisted_recipient: an address in one
// of our domains that reaches no mailbox or alias.
var RejectUnlistedRecipient = Func("reject_unlisted_recipient", func(_ context.Context, r *Request) Verdict {
	if r.Resolution != nil && len(r.Resolution.Destinations) == 0 {
		return reject(550, "5.1.1", "<"+r.Recipient+">: Recipient address rejected: User unknown in virtual mailbox table")
	}
	return Verdict{}
})

// RejectPlaintextSession is reject_plaintext_session, with the reply of
// a submission service that wants STARTTLS first.
var RejectPlaintextSession = Func("reject_plaintext_session", func(_ context.Context, r *Request) Verdict {
	if !r.TLS {
		return reject(530, "5.7.0", "Must issue a STARTTLS command first")
	}
	return Verdict{}
})

// RejectWith is Postfix's "reject" with a chosen reply.
func RejectWith(code int, enh, text string) Check {
	return Func("reject", func(context.Context, *Request) Verdict { return reject(code, enh, text) })
}

// RejectOverQuota refuses a recipient whose every local mailbox is full
// (452 4.2.2 with delivery.over_quota_tempfail, else 552 5.2.2). When only
// some destinations are full the recipient is accepted: delivery keeps
// the full ones' copies in the queue.
func RejectOverQuota(d Deps, tempfail bool) Check {
	return Func("reject_over_quota", func(ctx context.Context, r *Request) Verdict {
		if r.Resolution == nil || d.QuotaFull == nil {
			return Verdict{}
		}
		dests := r.Resolution.Destinations
		full := 0
		for _, dst := range dests {
			if dst.Kind != directory.Local {
				continue
			}
			f, err := d.QuotaFull(ctx, dst.Mailbox, r.Size)
			if err != nil {
				d.warn("quota lookup " + dst.Mailbox.Username + ": " + err.Error())
				return reject(451, "4.3.0", "<"+r.Recipient+">: Temporary lookup failure")
			}
			if f {
				full++
			}
		}
		if full == 0 || full < len(dests) {
			return Verdict{}
		}
		if tempfail {
			return reject(452, "4.2.2", "<"+r.Recipient+">: Mailbox full")
		}
		return reject(552, "5.2.2", "<"+r.Recipient+">: Mailbox full")
	})
}

// RejectAuthenticatedSenderLoginMismatch is
// reject_authenticated_sender_login_mismatch: an authenticated user may
// send only as an address that is theirs — their own (with or without an
// extension) or an alias one of whose targets is their mailbox (Postfix
// smtpd_sender_login_maps over the virtual alias and mailbox maps). The
// null sender (bounces, DSNs) passes.
func RejectAuthenticatedSenderLoginMismatch(d Deps) Check {
	return Func("reject_authenticated_sender_login_mismatch", func(ctx context.Context, r *Request) Verdict {
		user := ""
		if r.Env != nil {
			user = r.Env.AuthUser
		}
		if user == "" || r.Sender == "" || d.Resolve == nil {
			return Verdict{}
		}
		res, err := d.Resolve(ctx, r.Sender)
		switch {
		case errors.Is(err, directory.ErrBadAddress):
			return reject(501, "5.1.7", "<"+r.Sender+">: Bad sender address syntax")
		case err != nil && !errors.Is(err, directory.ErrUnknownUser):
			d.warn("sender lookup <" + r.Sender + ">: " + err.Error())
			return reject(451, "4.3.0", "<"+r.Sender+">: Temporary lookup failure")
		}
		if owns(res, user) {
			return Verdict{}
		}
		return reject(553, "5.7.1", "<"+r.Sender+">: Sender address rejected: not owned by user "+user)
	})
}

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

// rejectHostnameRecipient refuses an address in the server's own host
// name when that is not one of our domains.
func rejectHostnameRecipient(hostname string) Check {
	return Func("reject_unlisted_hostname_recipient", func(_ context.Context, r *Request) Verdict {
		if r.Resolution == nil || r.Resolution.Class != directory.Foreign {
			return Verdict{}
		}
		if strings.EqualFold(r.Recipient[strings.LastIndexByte(r.Recipient, '@')+1:], hostname) {
			return reject(550, "5.1.1", "<"+r.Recipient+">: Recipient address rejected: "+hostname+
				" is not a mail domain here (give a full address, or add the domain and an alias)")
		}
		return Verdict{}
	})
}

// Defaults returns the lists that reproduce Mailwarden's fixed rules for
// a service:
//
//	smtp:        relay     = permit_mynetworks (smtp.permit_mynetworks), reject_unauth_destination
//	             recipient = reject_unlisted_recipient, reject_over_quota
//	submission:  sender    = reject_plaintext_session, reject_authenticated_sender_login_mismatch
//	                         (submission.reject_sender_login_mismatch), permit_sasl_authenticated,
//	                         permit_mynetworks (submission.permit_mynetworks), reject (530 5.7.0)
//	             relay     = permit_sasl_authenticated, permit_mynetworks, reject_unauth_destination
//	             recipient = reject_unlisted_recipient, reject_over_quota
//	pickup:      relay, recipient as smtp, but every client is trusted to relay
//
// Submission's sender list runs at MAIL (smtpd_delay_reject=no), so a
// client without TLS or AUTH learns it before sending recipients.
func Defaults(service string, cfg *config.Config, d Deps) *Lists {
	quota := RejectOverQuota(d, cfg.Delivery.OverQuotaTempfail)
	ls := &Lists{DelayReject: true, Recipient: List{RejectUnlistedRecipient, quota}}
	switch service {
	case "submission", "submissions":
		ls.DelayReject = false
		ls.Sender = List{RejectPlaintextSession}
		if cfg.Submission.RejectSenderLoginMismatch {
			ls.Sender = append(ls.Sender, RejectAuthenticatedSenderLoginMismatch(d))
		}
		ls.Sender = append(ls.Sender, PermitSASLAuthenticated)
		if cfg.Submission.PermitMyNetworks {
			ls.Sender = append(ls.Sender, PermitMyNetworks)
		}
		ls.Sender = append(ls.Sender, RejectWith(530, "5.7.0", "Authentication required"))
		ls.Relay = List{PermitSASLAuthenticated}
		if cfg.Submission.PermitMyNetworks {
			ls.Relay = append(ls.Relay, PermitMyNetworks)
		}
		ls.Relay = append(ls.Relay, RejectUnauthDestination)
	case "pickup":
		// Local submission (sendmail) is trusted like Postfix's pickup:
		// it may relay, but a bare name that sendmail qualified with our
		// host name, which is no mail domain here, would loop.
		ls.Relay = List{rejectHostnameRecipient(cfg.Hostname)}
	default:
		if cfg.SMTP.PermitMyNetworks {
			ls.Relay = List{PermitMyNetworks}
		}
		ls.Relay = append(ls.Relay, RejectUnauthDestination)
	}
	return ls
}

func (d Deps) info(msg string) {
	if d.Log != nil {
		d.Log.Info(msg)
	}
}
