-- One row per committed change of a mailbox (messages added, expunged,
-- flags changed, folders created/renamed/deleted), written in the same
-- transaction as the change, so that every process and node serving IMAP
-- learns of changes made elsewhere (sendmail's and the queue's
-- deliveries in another node, import-maildir, admin commands) and wakes
-- its IDLE sessions. Readers poll "id > last seen" (the primary key);
-- rows of their own origin (a random id per process) were already
-- published in-process. Old rows are pruned by the server, never the
-- newest, so that ids are not reused. kind is store.EventKind.
CREATE TABLE mail_change (
	id       INTEGER PRIMARY KEY,
	username VARCHAR(255) NOT NULL,
	folder   VARCHAR(255) NOT NULL,
	kind     INTEGER NOT NULL,
	modseq   BIGINT NOT NULL,
	origin   VARCHAR(32) NOT NULL,
	created  BIGINT NOT NULL
);
CREATE INDEX mail_change_created ON mail_change(created);
