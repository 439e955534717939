package smtpserver

import "mailwarden/internal/event"

import ()

// Mode is the kind of service a Server offers on its listeners.
type Mode int

const (
	// MX is port 25: mail from the world for our domains. No AUTH; only
	// mynetworks may relay.
	MX Mode = iota
	// Submission is port 587 (RFC 6409) with STARTTLS, as Postfix's
	// submission service: smtpd_tls_security_level=encrypt,
	// smtpd_sasl_auth_enable=yes, permit_sasl_authenticated,
	// permit_mynetworks, reject, reject_sender_login_mismatch.
	Submission
	// Submissions is port 465 (RFC 8314): Submission over implicit TLS.
	Submissions
	// Pickup is local submission, as Postfix's pickup: `mailwarden
	// sendmail` on the unix socket and the maildrop picker. The peer is a
	// local user (its uid comes from the connection, PeerUID): it may
	// relay, needs no TLS or AUTH, and the Received field names the uid
	// with protocol "local".
	Pickup
)

// peerUID is what a Pickup connection says about its sender: the uid of
// the socket peer (SO_PEERCRED) or of the maildrop file's owner.
type peerUID interface{ PeerUID() int }

// service names the mode in logs and to the login package (Postfix
// master.cf service names).
func (m Mode) service() string {
	switch m {
	case Submission:
		return "submission"
	case Submissions:
		return "submissions"
	case Pickup:
		return "pickup"
	}
	return "smtp"
}

// submit reports whether m is a message submission service (RFC 6409).
func (m Mode) submit() bool { return m == Submission || m == Submissions }

// protocol is the RFC 3848 "with" keyword for the Received header.
func (m Mode) protocol(esmtp, tls, authed bool) string {
	if m == Pickup {
		return "local"
	}
	p := "SMTP"
	if esmtp {
		p = "ESMTP"
	}
	if tls {
		p += "S"
	}
	if authed && esmtp { // AUTH is an ESMTP extension
		p += "A"
	}
	return p
}

// program is the mail log's program name of the service.
func (m Mode) program() event.Program {
	switch m {
	case Submission:
		return event.Submission
	case Submissions:
		return event.Submissions
	case Pickup:
		return event.Pickup
	}
	return event.Smtpd
}
