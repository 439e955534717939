-- Per-user \Seen in shared folders (Dovecot's private flags, INDEXPVT):
-- a user who reads another owner's folder ("Other Users/...") or a
-- shared mailbox of the domain ("Shared/...") keeps its own \Seen there;
-- the owner's \Seen stays in mail_message.flags. One row per message a
-- viewer changed \Seen of: seen 1 or 0, and the MODSEQ of that change,
-- taken from the folder's counter (mail_folder.highestmodseq), so that
-- CONDSTORE/QRESYNC clients of that user learn of it (RFC 7162 3.1).
-- The rows go with their message (expunge, MOVE, folder DELETE) and
-- follow it when RENAME of INBOX gives the messages a new folder.
CREATE TABLE mail_pvt_seen (
	folder_id INTEGER NOT NULL,
	uid       BIGINT NOT NULL,
	username  VARCHAR(255) NOT NULL,
	seen      SMALLINT NOT NULL,
	modseq    BIGINT NOT NULL,
	PRIMARY KEY (folder_id, uid, username),
	FOREIGN KEY (folder_id, uid) REFERENCES mail_message(folder_id, uid) ON DELETE CASCADE ON UPDATE CASCADE
);
-- A viewer's rows of one folder: SELECT, STATUS UNSEEN and CHANGEDSINCE.
CREATE INDEX mail_pvt_seen_user ON mail_pvt_seen(folder_id, username, modseq);
