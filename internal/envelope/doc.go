// Package envelope defines the one type that describes a message in flight
// (sender, recipients with DSN parameters, client facts, TLS, auth) and the
// spool that holds its body while the SMTP session decides. Servers fill it
// in; delivery and the queue read it. It does no I/O beyond the spool.
package envelope
