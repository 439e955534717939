-- Manual client blocks (`mailwarden block add|list|delete`): connections
-- from these networks are dropped at accept on every listener. prefix is
-- the masked network in Go's netip text form ("203.0.113.0/24",
-- "2001:db8::/48", "192.0.2.7/32"); created and expires are Unix seconds,
-- expires 0 meaning permanent. Expired rows stop applying but stay
-- (listed as expired) until deleted or re-added.
CREATE TABLE client_block (
	prefix  VARCHAR(64) PRIMARY KEY,
	reason  VARCHAR(255) NOT NULL DEFAULT '',
	created BIGINT NOT NULL,
	expires BIGINT NOT NULL DEFAULT 0
);
-- One row whose serial moves in the transaction of every change to
-- client_block, so that servers (on every node) poll one tiny row a
-- second and reload the blocks only when it moved.
CREATE TABLE client_block_serial (
	id     INTEGER PRIMARY KEY,
	serial BIGINT NOT NULL
);
INSERT INTO client_block_serial(id, serial) VALUES (1, 0);
