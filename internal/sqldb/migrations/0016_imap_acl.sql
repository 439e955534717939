-- IMAP ACL (RFC 4314): who may do what on a folder. One row per folder
-- and identifier: a user name, "anyone", "authenticated", or one of
-- those after "-" for negative rights. rights holds the letters of RFC
-- 4314 2.1 ("lrswipkxtea"), never the virtual "c"/"d". The owner of a
-- folder has every right without a row. Rows follow their folder through
-- RENAME (they name the folder by id) and go with it on DELETE. The
-- shared mailboxes of a domain are the folders of its pseudo-owner
-- "@domain" (store.SharedAccount).
CREATE TABLE mail_acl (
	folder_id  INTEGER NOT NULL REFERENCES mail_folder(id) ON DELETE CASCADE,
	identifier VARCHAR(255) NOT NULL,
	rights     VARCHAR(32) NOT NULL,
	PRIMARY KEY (folder_id, identifier)
);
-- "Which folders are shared with me": LIST of the other-users namespace.
CREATE INDEX mail_acl_identifier ON mail_acl(identifier);
