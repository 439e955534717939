-- Greylisting (postgrey) and tarpitting (taRgrey): internal/greylist.
-- A triplet is the client network (masked, "192.0.2.0/24"), the
-- normalized sender and the recipient, all lower-case. Times are Unix
-- seconds. passed is when the triplet passed (its retry came after the
-- delay, or the client sat through the tarpit and reached DATA), 0 while
-- it is still greylisted. tarpit is 1 while a tarpitted first contact
-- waits for its DATA; it stays 1 when the client hung up, so that its
-- next try is greylisted. Rows not seen for max_age are swept.
CREATE TABLE greylist_triplet (
	client_net VARCHAR(64)  NOT NULL,
	sender     VARCHAR(320) NOT NULL,
	recipient  VARCHAR(320) NOT NULL,
	first_seen BIGINT NOT NULL,
	last_seen  BIGINT NOT NULL,
	passed     BIGINT NOT NULL DEFAULT 0,
	tarpit     SMALLINT NOT NULL DEFAULT 0,
	client_ip  VARCHAR(64) NOT NULL DEFAULT '',
	PRIMARY KEY (client_net, sender, recipient)
);
CREATE INDEX greylist_triplet_last_seen ON greylist_triplet(last_seen);
-- Client addresses auto-whitelisted after enough successful retries
-- (postgrey's clients AWL): hits counts successes, one an hour.
CREATE TABLE greylist_client (
	client     VARCHAR(64) PRIMARY KEY,
	hits       BIGINT NOT NULL,
	last_seen  BIGINT NOT NULL
);
CREATE INDEX greylist_client_last_seen ON greylist_client(last_seen);
-- Clients and networks whitelisted by hand (`mailwarden greylist
-- whitelist`), as netip prefixes ("203.0.113.0/24", "192.0.2.7/32").
CREATE TABLE greylist_whitelist (
	prefix  VARCHAR(64) PRIMARY KEY,
	reason  VARCHAR(255) NOT NULL DEFAULT '',
	created BIGINT NOT NULL
);
