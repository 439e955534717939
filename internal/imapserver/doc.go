// Package imapserver serves IMAP (RFC 9051 IMAP4rev2 and RFC 3501
// IMAP4rev1) on top of the mailbox store, with the extensions clients
// use to sync: IDLE, MOVE, UIDPLUS, CONDSTORE/QRESYNC, ESEARCH and
// SEARCHRES, LIST-EXTENDED/LIST-STATUS, SPECIAL-USE, QUOTA, NAMESPACE,
// ENABLE, UNSELECT, ID, LITERAL+, SASL-IR, APPENDLIMIT, CATENATE
// (catenate.go, with IMAP URLs parsed by imapurl), URLAUTH (urlauth.go),
// UIDONLY (uidonly.go), OBJECTID (objectid.go), METADATA and METADATA-SERVER (metadata.go),
// and NOTIFY and CONTEXT=SEARCH/SORT, which push notifications between
// commands (notify.go, context.go, notifywait.go). It runs
// STARTTLS on 143 or implicit TLS on 993, checks passwords through
// auth/login (LOGIN and AUTHENTICATE PLAIN), enforces connection limits,
// the autologout timer and bad-command limits, and logs Dovecot-style
// lines.
//
// COMPRESS=DEFLATE (RFC 4978, compress.go, inflate.go) swaps the session's
// reader and writer for deflate ones: our own inflater, which hands out
// each command as soon as it is decoded whatever flush the client used,
// and pooled compressors held only while a burst of responses is written.
//
// Mailbox names are stored in modified UTF-7 as IMAP4rev1 clients send
// them; a client that enables UTF8=ACCEPT or IMAP4rev2 sees and sends
// UTF-8, converted at the edge (names.go).
//
// Each session keeps the view of its selected mailbox that the client was
// told (UIDs in sequence order, flags, MODSEQs) and moves it forward from
// store change events only at the command boundaries RFC 9051 7 allows
// (mailbox.go): EXPUNGE is never sent during FETCH, STORE or SEARCH by
// sequence number, and a message expunged elsewhere stays addressable
// until the client is told. Parsing and formatting of the wire protocol
// live in imapwire, MIME structure in imapmsg, mail and folders in store.
// This package keeps no state beyond live sessions.
//
// FETCH and SEARCH read the index in chunks of 500 messages, one query
// each (store.MessagesWith), and answer ENVELOPE, HEADER.FIELDS of the
// usual fields and the header search keys from the index's header cache
// (imapmsg.Cache) without opening message files; the file is read only
// for the rest, or for messages without a valid cache, whose cache is
// then made and stored (a one-time cost for mail indexed before the
// cache). Nothing of it stays in the session between commands.
package imapserver
