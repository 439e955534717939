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
//
// The index also caches, per message, what IMAP needs of the header
// (mail_cache, imapmsg.Cache: the ENVELOPE text and the usual header
// fields, with the size and internal date), so that listing and
// searching a folder reads no files, as Dovecot's dovecot.index.cache
// does. The header is read while the file is written and the cache row
// is committed with the index row; COPY and MOVE copy it, and it goes
// with its message. MessagesWith reads it in one query per range of
// UIDs; FillCache stores the caches sessions make from the files of
// messages indexed before the cache. imapmsg decides what is cached, so
// that cached answers are those the file would give.
// It knows nothing of SMTP, IMAP or accounts beyond a username and a
// path, and the imapmsg cache format.
package store
