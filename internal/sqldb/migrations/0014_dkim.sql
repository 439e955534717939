-- DKIM signing keys (internal/msgauth/dkim): one row per domain and
-- selector. private_key is the PKCS#8 key in PEM: the database file is
-- Mailwarden's own (mode 0600 in a 0700 data_dir). public_key is the
-- base64 p= value published in DNS. Times are Unix seconds, and the key's
-- state follows from them alone, so that every node sharing the database
-- agrees without a job moving rows along:
--   now < active_from               published: in DNS, not signing yet
--   active_from <= now < retire_at  active: signs (retire_at 0: no end)
--   retire_at <= now < delete_at    retired: kept in DNS for mail in flight
--   delete_at <= now                deleted: withdraw the record; the row is swept
CREATE TABLE dkim_key (
	domain      VARCHAR(253) NOT NULL,
	selector    VARCHAR(63)  NOT NULL,
	algorithm   VARCHAR(16)  NOT NULL,
	private_key TEXT   NOT NULL,
	public_key  TEXT   NOT NULL,
	created     BIGINT NOT NULL,
	active_from BIGINT NOT NULL,
	retire_at   BIGINT NOT NULL DEFAULT 0,
	delete_at   BIGINT NOT NULL DEFAULT 0,
	PRIMARY KEY (domain, selector)
);
CREATE INDEX dkim_key_delete_at ON dkim_key(delete_at);
