// Package store owns mailboxes and messages: Maildir files in a
// Dovecot-compatible tree under data_dir/mail and the SQL index that is the
// source of truth for UIDs, MODSEQs, flags and quota usage. Delivery writes
// the file durably first (tmp/, fsync, rename into new/, fsync the
// directory) and only then commits the index row, so the index never points
// at a missing file; Recover adds files a crash left without a row.
// It knows nothing of SMTP, IMAP or accounts beyond a username and a path.
package store
