// Package acl holds the access rights of IMAP ACL (RFC 4314): the rights
// letters, their parsing (with the obsolete "c" and "d" of RFC 2086 as
// virtual rights), identifiers ("anyone", "authenticated", user names,
// "-" for negative rights), the rule that turns the entries of a
// folder into the rights of one user (Dovecot's), and the reading of
// Dovecot's dovecot-acl files. It knows nothing of SQL or IMAP sessions:
// the store keeps the entries, the IMAP server enforces the rights.
package acl
