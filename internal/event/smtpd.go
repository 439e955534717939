package event

// Connect is a new SMTP connection that was admitted ("connect from
// host[ip]"), or an IMAP/POP3 one (counted, not logged, as Dovecot does).
type Connect struct {
	Program Program // Smtpd, Submission, Submissions, IMAPLogin, POP3Login
	Client  Peer
}

// Count is one command's tally in a Disconnect: accepted and total.
type Count struct {
	Name      string // "ehlo", "mail", "rcpt", "data", "auth", "quit" ...
	OK, Total int
}

// Disconnect is the end of an SMTP connection with Postfix's command
// tally: "disconnect from h[ip] ehlo=1 mail=1 rcpt=0/1 data=0/1
// commands=2/4". The log writer adds "commands=" as the sum of the list.
type Disconnect struct {
	Program  Program
	Client   Peer
	Commands []Count // in the order Postfix prints them; zero totals are skipped
}

// LostKind says why a session ended abnormally.
type LostKind uint8

// The kinds of Lost, each one Postfix line.
const (
	LostConnection LostKind = iota // "lost connection after RCPT from h[ip]"
	Timeout                        // "timeout after DATA from h[ip]"
	TooManyErrors                  // "too many errors after RCPT from h[ip]"
	Pipelining                     // "improper command pipelining after EHLO from h[ip]: next command"
)

// Lost is a session that ended by timeout, a dropped connection, the
// error limit or a pipelining violation.
type Lost struct {
	Program Program
	Kind    LostKind
	After   string // the last command: "CONNECT", "EHLO", "RCPT", "DATA", "END-OF-MESSAGE"
	Client  Peer
	Detail  string // Pipelining only: what the client sent early
}

// TooManyConnections is a connection refused by a concurrency limit
// (Postfix anvil's smtpd_client_connection_count_limit, Dovecot's
// mail_max_userip_connections).
type TooManyConnections struct {
	Program Program
	Client  Peer
	Limit   int // the limit that was hit; 0 when unknown
}

// Blocked is a connection dropped at accept, before any greeting, because
// its client is on the block list (mailwarden block add). It is logged
// like Postfix's reject at CONNECT for smtpd and like Dovecot's
// "Disconnected" for IMAP and POP3, and counted as connection outcome
// "blocked".
type Blocked struct {
	Program Program // Smtpd, Submission, Submissions, IMAPLogin, POP3Login
	Client  Peer
	Reason  string // the block's reason; may be empty
}

// Reject is a refusal at an SMTP stage, logged as Postfix's
// "NOQUEUE: reject: RCPT from h[ip]: 554 5.7.1 <x@y>: Relay access denied;
// from=<a> to=<x@y> proto=ESMTP helo=<h>".
type Reject struct {
	Program Program
	QueueID string // "" prints NOQUEUE
	Action  string // "" means "reject"; also "hold", "discard", "reject_warning"
	Stage   string // "CONNECT", "HELO", "MAIL", "RCPT", "DATA", "END-OF-MESSAGE", "BDAT"
	Client  Peer
	Code    int    // 554
	DSN     string // "5.7.1"
	Text    string // "<x@y>: Relay access denied"
	From    string // envelope sender, without <>
	To      string // the recipient, "" when not at RCPT (then to= is left out)
	Proto   string // "SMTP" or "ESMTP"
	Helo    string // "" leaves helo= out
	// Reason is a short stable name for metrics, not logged: the check
	// that decided ("reject_unauth_destination", "reject_unlisted_recipient",
	// "quota", "lookup_failure", "size" ...). Empty counts as "other".
	Reason string
}

// Queued is the moment a transaction gets its queue id (at the first
// accepted RCPT): "ID: client=h[ip], sasl_method=PLAIN, sasl_username=u".
// pflogsumm counts a received message per Queued line.
type Queued struct {
	Program    Program
	QueueID    string
	Client     Peer
	SASLMethod string // "" when not authenticated (then both are left out)
	SASLUser   string
}

// AuthFailed is a failed SMTP AUTH: "warning: h[ip]: SASL PLAIN
// authentication failed: authentication failure, sasl_username=u" (the
// line fail2ban's postfix filter in auth mode matches).
type AuthFailed struct {
	Program   Program
	Client    Peer
	Mechanism string // "PLAIN", "LOGIN", "CRAM-MD5", "SCRAM-SHA-256"
	Reason    string // "authentication failure" or "temporary failure"
	User      string // "" when unknown
}

// AuthOK is a successful SMTP AUTH. Postfix logs no line for it (the
// Queued line names the user); it is counted.
type AuthOK struct {
	Program   Program
	Client    Peer
	Mechanism string
	User      string
}
