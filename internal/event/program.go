package event

import "net/netip"

// Program names the part of the server that reports an event, as Postfix
// and Dovecot name their processes. The log writer prefixes the Postfix
// ones with syslog_name ("mailwarden/smtpd").
type Program string

// The programs, following Postfix's master.cf and Dovecot.
const (
	Smtpd       Program = "smtpd"             // port 25
	Submission  Program = "submission/smtpd"  // port 587
	Submissions Program = "submissions/smtpd" // port 465
	Cleanup     Program = "cleanup"           // message-id of an accepted message
	Qmgr        Program = "qmgr"              // from=/size=, removed, expired
	SMTP        Program = "smtp"              // remote delivery
	LMTP        Program = "lmtp"              // LMTP next hop
	Virtual     Program = "virtual"           // local Maildir delivery
	Bounce      Program = "bounce"            // DSNs
	Pickup      Program = "pickup"            // mailwarden sendmail
	Postsuper   Program = "postsuper"         // queue administration
	Master      Program = "master"            // the daemon itself
	IMAPLogin   Program = "imap-login"        // IMAP before login
	POP3Login   Program = "pop3-login"        // POP3 before login
	IMAP        Program = "imap"              // IMAP after login
	POP3        Program = "pop3"              // POP3 after login
	Auth        Program = "auth"              // the authenticator (Dovecot's auth process)
)

// Dovecot reports whether p is one of Dovecot's programs (logged
// Dovecot-style: "mailwarden: imap-login: ...").
func (p Program) Dovecot() bool {
	switch p {
	case IMAPLogin, POP3Login, IMAP, POP3, Auth:
		return true
	}
	return false
}

// Service is the listener family p belongs to, for metrics labels:
// "smtp", "submission", "submissions", "imap", "pop3", "sendmail", or p
// itself for the internal programs.
func (p Program) Service() string {
	switch p {
	case Smtpd:
		return "smtp"
	case Submission:
		return "submission"
	case Submissions:
		return "submissions"
	case IMAPLogin, IMAP:
		return "imap"
	case POP3Login, POP3:
		return "pop3"
	case Pickup:
		return "sendmail"
	}
	return string(p)
}

// Peer is a remote client as Postfix prints it: "host[ip]".
type Peer struct {
	Host string     // verified reverse name; "" prints "unknown"
	IP   netip.Addr // invalid prints "unknown"
}

// String returns "host[ip]".
func (p Peer) String() string { return string(p.AppendTo(nil)) }

// AppendTo appends "host[ip]" to b.
func (p Peer) AppendTo(b []byte) []byte {
	if p.Host == "" {
		b = append(b, "unknown"...)
	} else {
		b = append(b, p.Host...)
	}
	b = append(b, '[')
	if p.IP.IsValid() {
		b = p.IP.Unmap().AppendTo(b)
	} else {
		b = append(b, "unknown"...)
	}
	return append(b, ']')
}

// IPString prints an address without the IPv4-in-IPv6 prefix, or
// "unknown".
func IPString(ip netip.Addr) string {
	if !ip.IsValid() {
		return "unknown"
	}
	return ip.Unmap().String()
}
