// Package smtpserver runs the SMTP sessions of Mailwarden: the MX service
// (port 25), submission (587, STARTTLS) and submissions (465, implicit
// TLS); see Mode. It is its own SMTP engine: one goroutine per connection
// reads a command line (internal/smtpwire parses it), runs its handler,
// which returns the reply, and writes it — the greeting, EHLO and every
// reply come from a handler, never from rewriting bytes. Around the
// protocol it does what a Postfix smtpd does: connection limits, deadlines
// (a command line within smtp.timeout, DATA at smtp.min_data_rate),
// error and junk-command limits, queue_minfree, STARTTLS and AUTH (through
// login.Authenticator), XCLIENT and XFORWARD for trusted hosts, the
// Received header and Postfix-style log lines. At each stage it asks the
// restriction lists of internal/policy for a verdict, records verdicts and
// header edits in the envelope, and hands accepted mail to a Deliverer,
// answering 250 only after Deliver returned nil. It does not store or
// queue mail itself and keeps no state beyond live connections.
package smtpserver
