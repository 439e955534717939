-- IMAP state that every session of every node must agree on.

-- \Recent (RFC 3501 2.3.2): the first session to see a new message gets
-- it as recent. recent_uid is the lowest UID no session has claimed yet;
-- a session selecting the folder (not EXAMINE) moves it to the UIDNEXT it
-- saw and holds the UIDs in between as recent. Existing folders start
-- with nothing recent.
ALTER TABLE mail_folder ADD COLUMN recent_uid BIGINT NOT NULL DEFAULT 1;
UPDATE mail_folder SET recent_uid = uidnext;

-- Subscriptions to names that have no folder (RFC 3501 6.3.6, 6.3.4:
-- DELETE keeps the subscription; RFC 5258 3.1 \NonExistent). A folder's
-- own subscription stays in mail_folder.subscribed; DELETE moves it here
-- and CREATE of the same name takes it back.
CREATE TABLE mail_subscription (
	username VARCHAR(255) NOT NULL,
	name     VARCHAR(255) NOT NULL,
	PRIMARY KEY (username, name)
);
