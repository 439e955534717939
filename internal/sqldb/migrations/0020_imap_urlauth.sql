-- URLAUTH (RFC 4467): the mailbox access key of each folder its owner
-- made URLAUTH URLs for (GENURLAUTH). The INTERNAL mechanism signs a URL
-- with it; RESETKEY deletes it, which voids every URL signed before. By
-- folder id: the key follows RENAME and goes with DELETE.
CREATE TABLE mail_urlauth_key (
	folder_id  INTEGER NOT NULL PRIMARY KEY REFERENCES mail_folder(id) ON DELETE CASCADE,
	access_key VARCHAR(64) NOT NULL
);
