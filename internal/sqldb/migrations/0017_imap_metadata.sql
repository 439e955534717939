-- IMAP METADATA (RFC 5464): entries (annotations) on folders and on the
-- server. entry is the lower-case name ("/private/comment",
-- "/shared/vendor/x/y"); a /shared entry has username '' and is the
-- same for everyone, a /private entry belongs to username (who may not
-- be the folder's owner: one's own notes on a folder shared with one).
-- Folder entries name their folder by id, so they follow it through
-- RENAME and go with it on DELETE. BYTEA is a blob in PostgreSQL and in
-- SQLite alike: values may hold any octet (literal8).
CREATE TABLE imap_metadata (
	folder_id INTEGER NOT NULL REFERENCES mail_folder(id) ON DELETE CASCADE,
	username  VARCHAR(255) NOT NULL,
	entry     VARCHAR(1024) NOT NULL,
	value     BYTEA NOT NULL,
	PRIMARY KEY (folder_id, username, entry)
);
-- Counting a user's private entries (the per-user limit).
CREATE INDEX imap_metadata_username ON imap_metadata(username);

-- Server entries (mailbox name ""): per user for /private, username ''
-- for /shared.
CREATE TABLE imap_server_metadata (
	username VARCHAR(255) NOT NULL,
	entry    VARCHAR(1024) NOT NULL,
	value    BYTEA NOT NULL,
	PRIMARY KEY (username, entry)
);
