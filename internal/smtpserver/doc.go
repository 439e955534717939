// Package smtpserver runs the SMTP sessions of Mailwarden: the MX service
// (port 25), submission (587, STARTTLS) and submissions (465, implicit
// TLS); see Mode. It wraps github.com/emersion/go-smtp with what a Postfix
// smtpd does around the protocol: connection limits, the banner, session
// and idle deadlines, recipient checks against the directory (relay,
// unknown user, quota), the Received header and Postfix-style log lines.
// Submission adds AUTH PLAIN and LOGIN through login.Authenticator, TLS
// before MAIL, reject_sender_login_mismatch and the Date and Message-ID
// fields RFC 6409 asks for. It hands accepted mail to a Deliverer and
// answers 250 only after Deliver returned nil. It does not store or queue
// mail itself and keeps no state beyond live connections.
package smtpserver
