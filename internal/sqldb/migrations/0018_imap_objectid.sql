-- OBJECTID (RFC 8474): stable identifiers of folders and messages.
-- mail_folder.objectid is the MAILBOXID: random, given when the folder is
-- created, kept through RENAME, gone with DELETE (a folder created again
-- under the same name gets a new one). mail_message.emailid is the
-- EMAILID: random, given when a message is stored, and carried by COPY
-- and MOVE (the copy shares the file's content). Rows made before this
-- column existed get theirs when first read (store/objectid.go).
ALTER TABLE mail_folder ADD COLUMN objectid VARCHAR(64);
CREATE UNIQUE INDEX mail_folder_objectid ON mail_folder(objectid);
ALTER TABLE mail_message ADD COLUMN emailid VARCHAR(64);
