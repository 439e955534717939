// Package smtpwire is the wire level of Mailwarden's SMTP server: it reads
// command lines and message data from the client, parses command arguments
// (paths, ESMTP parameters, XCLIENT/XFORWARD attributes, xtext) and writes
// replies. It knows RFC 5321 syntax and the extensions the server offers
// (SIZE, 8BITMIME, SMTPUTF8, DSN, AUTH=, CHUNKING), and nothing about
// sessions, state, policy or delivery: the caller (internal/smtpserver)
// decides what a parsed command means and which reply it gets.
//
// Everything here treats its input as hostile: every read is bounded by a
// caller-supplied limit, no accepted address or decoded parameter contains a
// control character, a reply line can never be split by client text, and the
// end of DATA is recognised only at the exact <CRLF>.<CRLF> sequence (see
// DataReader), so no SMTP smuggling variant ends a message early.
//
// Syntax errors come back as *Error, a complete reply ("501 5.5.4 ...") the
// caller sends as it is. Any other error is an I/O error or one of the
// exported sentinel errors (ErrLineTooLong, ErrTooLarge).
//
// This package must not import other Mailwarden packages (standard library
// only), keep state between commands, log, or touch the network itself.
package smtpwire
