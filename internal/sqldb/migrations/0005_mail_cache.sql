-- Per message, what IMAP needs of its header so that FETCH ENVELOPE,
-- BODY[HEADER.FIELDS (...)] of the usual fields and the header SEARCH keys
-- do not open the message file (Dovecot keeps the same in
-- dovecot.index.cache). See imapmsg.Cache: envelope is the ENVELOPE as
-- sent to IMAP4rev1 clients, fields the header fields clients ask for, in
-- their original bytes. The store writes a row with the message's index
-- row (delivery, APPEND, COPY/MOVE, import, recovery); messages indexed
-- before this table existed get theirs when a FETCH or SEARCH reads their
-- file. version is the cache format (imapmsg.CacheVersion): a row of
-- another version counts as missing and is made again. envelope NULL: the
-- message cannot be cached (header too large), readers use the file.
-- size and internal_date repeat the message's (they never change), so
-- that a search by date and header, or a FETCH of sizes and envelopes,
-- reads this table alone.
-- The row goes with its message: expunged, moved or deleted with it.
-- BYTEA is a blob in PostgreSQL and in SQLite alike.
CREATE TABLE mail_cache (
	folder_id     INTEGER NOT NULL,
	uid           BIGINT NOT NULL,
	version       INTEGER NOT NULL,
	size          BIGINT NOT NULL,
	internal_date BIGINT NOT NULL,
	envelope      BYTEA,
	fields        BYTEA,
	PRIMARY KEY (folder_id, uid),
	FOREIGN KEY (folder_id, uid) REFERENCES mail_message(folder_id, uid) ON DELETE CASCADE ON UPDATE CASCADE
);
