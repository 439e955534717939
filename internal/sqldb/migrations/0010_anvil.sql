-- Abuse limits shared by every node (internal/anvil, internal/autoblock,
-- internal/auth/login). Times are Unix seconds.
--
-- anvil_counter: event counts per client in fixed windows aligned to
-- multiples of the window length since the Unix epoch, so every node
-- names the same window alike and adds its counts to the same row
-- (count = count + delta). event is "conn", "mail", "rcpt", "newtls",
-- "auth" for Postfix anvil's rates, "ab-..." for autoblock's offences.
-- expires is when the row stops mattering (the end of the window after
-- it); rows past it are deleted.
CREATE TABLE anvil_counter (
	client       VARCHAR(64) NOT NULL,
	event        VARCHAR(32) NOT NULL,
	window_start BIGINT NOT NULL,
	count        BIGINT NOT NULL,
	expires      BIGINT NOT NULL,
	PRIMARY KEY (client, event, window_start)
);
CREATE INDEX anvil_counter_expires ON anvil_counter(expires);
-- postscreen_cache: results of connect-time tests remembered for a TTL,
-- as postscreen's cache ("pregreet": the client talked before the
-- greeting).
CREATE TABLE postscreen_cache (
	client  VARCHAR(64) NOT NULL,
	test    VARCHAR(16) NOT NULL,
	expires BIGINT NOT NULL,
	PRIMARY KEY (client, test)
);
-- login_failure: one row per failed login ([auth] max_failures within
-- failure_window), client being the IPv4 address or the IPv6 /64.
CREATE TABLE login_failure (
	client    VARCHAR(64) NOT NULL,
	failed_at BIGINT NOT NULL
);
CREATE INDEX login_failure_client ON login_failure(client, failed_at);
-- login_lock: clients refused logins until "until" (they reached the
-- failure limit); `mailwarden auth unlock` deletes the row.
CREATE TABLE login_lock (
	client     VARCHAR(64) PRIMARY KEY,
	lock_until BIGINT NOT NULL
);
