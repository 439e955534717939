-- SASL credentials kept beside postfixadmin's mailbox table, which stays
-- as postfixadmin shapes it.

-- SCRAM keys of a mailbox's password (RFC 5802 3), base64 each. They are
-- valid only while password_digest is the hex SHA-256 of mailbox.password:
-- a password changed by any means (mailwarden, postfixadmin, plain SQL)
-- leaves them unused until a login or `user passwd` makes new ones.
CREATE TABLE mailbox_scram (
	username        VARCHAR(255) NOT NULL REFERENCES mailbox(username) ON DELETE CASCADE,
	mechanism       VARCHAR(32) NOT NULL,
	iterations      INTEGER NOT NULL,
	salt            VARCHAR(255) NOT NULL,
	stored_key      VARCHAR(255) NOT NULL,
	server_key      VARCHAR(255) NOT NULL,
	password_digest VARCHAR(64) NOT NULL,
	modified        TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
	PRIMARY KEY (username, mechanism)
);

-- Random per-installation secrets, made on first use (base64), shared by
-- every node on the same database: "scram" keys the made-up SCRAM salts of
-- unknown users.
CREATE TABLE install_secret (
	name    VARCHAR(64) NOT NULL PRIMARY KEY,
	value   VARCHAR(255) NOT NULL,
	created TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
);
