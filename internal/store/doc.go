// Package store owns mailboxes and messages: Maildir files in a
// Dovecot-compatible Maildir++ tree under data_dir/mail and the SQL index
// that is the source of truth for folders, UIDs, MODSEQs, flags, expunged
// UIDs (QRESYNC) and quota usage. File names carry the standard flags
// (cur/<base>:2,<letters>); keywords live only in the index. A new file is
// made durable first (tmp/, fsync, rename, fsync the directory) and only
// then indexed, so the index never points at a missing file; Recover adds
// files a crash left without a row and matches files by base name. Every
// committed change is published in-process (Watch) for IDLE and other
// sessions. Import copies a Dovecot Maildir++ tree in, keeping its UIDs.
// It knows nothing of SMTP, IMAP or accounts beyond a username and a path.
package store
