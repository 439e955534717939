-- The user names failed logins tried (`mailwarden login blocked` shows
-- them; `mailwarden login unblock USER` finds the clients locked out
-- trying USER). Names are stored lower-case and log-safe, cut at 100
-- characters.
ALTER TABLE login_failure ADD COLUMN username VARCHAR(255) NOT NULL DEFAULT '';
-- login_lock_user: the names a locked-out client tried in the failures
-- that locked it (their rows in login_failure go at the lock).
CREATE TABLE login_lock_user (
	client   VARCHAR(64) NOT NULL,
	username VARCHAR(255) NOT NULL,
	PRIMARY KEY (client, username)
);
