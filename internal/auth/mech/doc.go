// Package mech is the server side of the SASL mechanisms the mail
// services offer: PLAIN (RFC 4616), LOGIN (draft-murchison-sasl-login),
// SCRAM-SHA-256 (RFC 5802, RFC 7677; no channel binding, so no -PLUS) and
// CRAM-MD5 (RFC 2195). Each exchange is a go-sasl sasl.Server that
// submission, IMAP and POP3 drive with their own framing (base64,
// continuation lines, replies) and that says which mailbox logged in.
//
// It parses and computes only: every verdict goes through
// login.Authenticator (Check for the plaintext mechanisms, an Exchange for
// the challenge-response ones), which owns lockouts, failure delays, log
// lines and stored credentials. Whether a mechanism may be used without
// TLS is the servers' decision (login.PlaintextAllowed). The package is
// not named sasl so as not to clash with github.com/emersion/go-sasl.
package mech
