// Package login is the one place where the mail access services (IMAP,
// POP3, later SMTP submission) check a user name and password, doing what
// Dovecot's auth process does around the password check itself: per-IP
// failure counting with a temporary lockout (auth penalty / fail2ban),
// auth_failure_delay, equal work for unknown and known users, inactive
// mailboxes, transparent upgrade of old password hashes to argon2id, and
// Dovecot-style log lines. It also decodes SASL PLAIN (RFC 4616) and says
// when a plaintext mechanism may be used at all. Protocol framing (base64,
// continuation lines, replies) stays in the servers.
package login
