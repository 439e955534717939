-- Accounts: close to postfixadmin's tables so that a migration is a copy.
-- Sizes are bytes (postfixadmin's domain.maxquota/quota are MB: multiply on import).
CREATE TABLE domain (
	domain      VARCHAR(255) NOT NULL PRIMARY KEY,
	description VARCHAR(255) NOT NULL DEFAULT '',
	aliases     INTEGER NOT NULL DEFAULT 0,
	mailboxes   INTEGER NOT NULL DEFAULT 0,
	maxquota    BIGINT NOT NULL DEFAULT 0,
	quota       BIGINT NOT NULL DEFAULT 0,
	transport   VARCHAR(255) NOT NULL DEFAULT '',
	backupmx    SMALLINT NOT NULL DEFAULT 0,
	created     TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
	modified    TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
	active      SMALLINT NOT NULL DEFAULT 1
);

CREATE TABLE alias_domain (
	alias_domain  VARCHAR(255) NOT NULL PRIMARY KEY,
	target_domain VARCHAR(255) NOT NULL REFERENCES domain(domain) ON DELETE CASCADE,
	created       TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
	modified      TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
	active        SMALLINT NOT NULL DEFAULT 1
);
CREATE INDEX alias_domain_target ON alias_domain(target_domain);

CREATE TABLE mailbox (
	username   VARCHAR(255) NOT NULL PRIMARY KEY,
	password   VARCHAR(255) NOT NULL,
	name       VARCHAR(255) NOT NULL DEFAULT '',
	maildir    VARCHAR(255) NOT NULL,
	quota      BIGINT NOT NULL DEFAULT 0,
	local_part VARCHAR(255) NOT NULL,
	domain     VARCHAR(255) NOT NULL REFERENCES domain(domain),
	created    TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
	modified   TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
	active     SMALLINT NOT NULL DEFAULT 1
);
CREATE INDEX mailbox_domain ON mailbox(domain);

CREATE TABLE alias (
	address  VARCHAR(255) NOT NULL PRIMARY KEY,
	goto     TEXT NOT NULL,
	domain   VARCHAR(255) NOT NULL REFERENCES domain(domain),
	created  TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
	modified TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
	active   SMALLINT NOT NULL DEFAULT 1
);
CREATE INDEX alias_domain_idx ON alias(domain);

-- Usage per mailbox, as Dovecot's quota dict keeps it in postfixadmin's quota2.
CREATE TABLE quota2 (
	username VARCHAR(255) NOT NULL PRIMARY KEY,
	bytes    BIGINT NOT NULL DEFAULT 0,
	messages INTEGER NOT NULL DEFAULT 0
);

-- Message store index: the source of truth for UIDs, MODSEQ and flags.
CREATE TABLE mail_folder (
	id            INTEGER PRIMARY KEY,
	username      VARCHAR(255) NOT NULL,
	name          VARCHAR(255) NOT NULL,
	uidvalidity   BIGINT NOT NULL,
	uidnext       BIGINT NOT NULL DEFAULT 1,
	highestmodseq BIGINT NOT NULL DEFAULT 1,
	special_use   VARCHAR(32) NOT NULL DEFAULT '',
	subscribed    SMALLINT NOT NULL DEFAULT 1,
	UNIQUE (username, name)
);

CREATE TABLE mail_message (
	folder_id     INTEGER NOT NULL REFERENCES mail_folder(id) ON DELETE CASCADE,
	uid           BIGINT NOT NULL,
	modseq        BIGINT NOT NULL,
	size          BIGINT NOT NULL,
	internal_date BIGINT NOT NULL,
	flags         VARCHAR(1024) NOT NULL DEFAULT '',
	filename      VARCHAR(255) NOT NULL,
	PRIMARY KEY (folder_id, uid)
);
CREATE INDEX mail_message_modseq ON mail_message(folder_id, modseq);
CREATE UNIQUE INDEX mail_message_file ON mail_message(folder_id, filename);

-- The outbound queue: envelope in SQL, body in data_dir/queue/<id>.
CREATE TABLE queue_message (
	id           VARCHAR(32) NOT NULL PRIMARY KEY,
	sender       VARCHAR(512) NOT NULL,
	size         BIGINT NOT NULL,
	arrival      BIGINT NOT NULL,
	client       VARCHAR(512) NOT NULL DEFAULT '',
	auth_user    VARCHAR(255) NOT NULL DEFAULT '',
	envid        VARCHAR(255) NOT NULL DEFAULT '',
	ret          VARCHAR(8) NOT NULL DEFAULT '',
	held         SMALLINT NOT NULL DEFAULT 0,
	next_attempt BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE queue_rcpt (
	queue_id     VARCHAR(32) NOT NULL REFERENCES queue_message(id) ON DELETE CASCADE,
	rcpt         VARCHAR(512) NOT NULL,
	orcpt        VARCHAR(512) NOT NULL DEFAULT '',
	notify       VARCHAR(64) NOT NULL DEFAULT '',
	kind         VARCHAR(16) NOT NULL DEFAULT 'remote',
	status       VARCHAR(16) NOT NULL DEFAULT 'queued',
	attempts     INTEGER NOT NULL DEFAULT 0,
	last_error   TEXT NOT NULL DEFAULT '',
	PRIMARY KEY (queue_id, rcpt)
);
