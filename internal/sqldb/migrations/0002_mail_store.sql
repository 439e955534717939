-- Message store additions for IMAP (CONDSTORE/QRESYNC, folder management).

-- UIDs expunged from a folder with the MODSEQ of their expunge, so that
-- QRESYNC can answer VANISHED (EARLIER) (RFC 7162 3.2.5.1, 3.2.10).
CREATE TABLE mail_expunged (
	folder_id INTEGER NOT NULL REFERENCES mail_folder(id) ON DELETE CASCADE,
	uid       BIGINT NOT NULL,
	modseq    BIGINT NOT NULL,
	PRIMARY KEY (folder_id, uid)
);
CREATE INDEX mail_expunged_modseq ON mail_expunged(folder_id, modseq);

-- The last UIDVALIDITY handed out per user: a folder deleted and created
-- again under the same name never gets a value a client may have cached
-- (RFC 9051 2.3.1.1).
CREATE TABLE mail_user (
	username    VARCHAR(255) NOT NULL PRIMARY KEY,
	uidvalidity BIGINT NOT NULL DEFAULT 0
);

-- Folder directory renames committed in the index but maybe not yet done
-- on disk; Recover finishes them after a crash. Paths are relative to the
-- mailbox root (".Work" -> ".Archive").
CREATE TABLE mail_folder_rename (
	username VARCHAR(255) NOT NULL,
	src      VARCHAR(255) NOT NULL,
	dst      VARCHAR(255) NOT NULL,
	PRIMARY KEY (username, src)
);
