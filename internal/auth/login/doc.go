// Package login is the one place where the mail access services (IMAP,
// POP3, SMTP submission) decide a login, doing what Dovecot's auth process
// does around the credential check itself: per-IP failure counting with a
// temporary lockout (auth penalty / fail2ban), auth_failure_delay, equal
// work for unknown and known users, inactive mailboxes, transparent
// upgrade of old password hashes to argon2id, SCRAM-SHA-256 keys stored
// after password logins, and Dovecot-style log lines.
//
// Plaintext mechanisms call Check with the password; challenge-response
// ones (internal/auth/mech) run an Exchange: Lookup, then the mechanism's
// own proof check, then Succeed or Fail. It also decodes SASL PLAIN (RFC
// 4616) and says when a plaintext mechanism may be used at all. Protocol
// framing (base64, continuation lines, replies) stays in the servers.
package login
