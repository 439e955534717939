// Package smtpserver runs the SMTP sessions of Mailwarden: today the MX
// service (port 25), later submission (587) and submissions (465). It wraps
// github.com/emersion/go-smtp with what a Postfix smtpd does around the
// protocol: connection limits, the banner, session and idle deadlines,
// recipient checks against the directory (relay, unknown user, quota), the
// Received header and Postfix-style log lines. It hands accepted mail to a
// Deliverer and answers 250 only after Deliver returned nil. It does not
// store or queue mail itself and keeps no state beyond live connections.
package smtpserver
