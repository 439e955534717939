-- DMARC (RFC 7489): internal/msgauth/dmarcreport.
--
-- dmarc_result aggregates the messages we evaluated, one row per report
-- period (Unix seconds, aligned to [dmarc] report_interval) and distinct
-- set of facts an aggregate report's <record> shows; count is how many
-- messages had them. rowkey is the SHA-256 (hex) of those facts, so that
-- recording is one portable upsert. dkim and reasons are JSON arrays;
-- policy is the DMARC record as published when the message came.
CREATE TABLE dmarc_result (
	rowkey        VARCHAR(64)  PRIMARY KEY,
	period        BIGINT       NOT NULL,
	period_end    BIGINT       NOT NULL,
	policy_domain VARCHAR(255) NOT NULL,
	source_ip     VARCHAR(64)  NOT NULL,
	header_from   VARCHAR(255) NOT NULL,
	envelope_from VARCHAR(255) NOT NULL,
	envelope_to   VARCHAR(255) NOT NULL,
	spf_domain    VARCHAR(255) NOT NULL,
	spf_scope     VARCHAR(8)   NOT NULL,
	spf_result    VARCHAR(16)  NOT NULL,
	dkim          TEXT         NOT NULL,
	dkim_aligned  VARCHAR(8)   NOT NULL,
	spf_aligned   VARCHAR(8)   NOT NULL,
	disposition   VARCHAR(16)  NOT NULL,
	reasons       TEXT         NOT NULL,
	policy        TEXT         NOT NULL,
	count         BIGINT       NOT NULL,
	last_seen     BIGINT       NOT NULL
);
CREATE INDEX dmarc_result_period ON dmarc_result(period, policy_domain);

-- One row per aggregate report (policy domain and period): the node that
-- inserts it sends the report, in the same transaction that queues it,
-- so two nodes never both send. queue_id is '' when nothing was sent
-- (no rua address could take it); note says why.
CREATE TABLE dmarc_report_sent (
	policy_domain VARCHAR(255) NOT NULL,
	period        BIGINT       NOT NULL,
	node          VARCHAR(255) NOT NULL,
	sent          BIGINT       NOT NULL,
	report_id     VARCHAR(255) NOT NULL,
	queue_id      VARCHAR(64)  NOT NULL,
	note          TEXT         NOT NULL,
	PRIMARY KEY (policy_domain, period)
);

-- Aggregate reports other receivers sent about our domains, and their
-- records. auth is the record's <auth_results> as JSON.
CREATE TABLE dmarc_report_in (
	org_name   VARCHAR(255) NOT NULL,
	report_id  VARCHAR(255) NOT NULL,
	email      VARCHAR(320) NOT NULL,
	domain     VARCHAR(255) NOT NULL,
	policy     VARCHAR(16)  NOT NULL,
	date_begin BIGINT       NOT NULL,
	date_end   BIGINT       NOT NULL,
	received   BIGINT       NOT NULL,
	PRIMARY KEY (org_name, report_id)
);
CREATE INDEX dmarc_report_in_domain ON dmarc_report_in(domain, date_begin);
CREATE TABLE dmarc_report_in_row (
	org_name    VARCHAR(255) NOT NULL,
	report_id   VARCHAR(255) NOT NULL,
	seq         INTEGER      NOT NULL,
	source_ip   VARCHAR(64)  NOT NULL,
	count       BIGINT       NOT NULL,
	disposition VARCHAR(16)  NOT NULL,
	dkim        VARCHAR(8)   NOT NULL,
	spf         VARCHAR(8)   NOT NULL,
	header_from VARCHAR(255) NOT NULL,
	auth        TEXT         NOT NULL,
	PRIMARY KEY (org_name, report_id, seq)
);

-- The report mailbox's messages already read: per user and folder
-- UIDVALIDITY, the highest UID imported.
CREATE TABLE dmarc_report_scan (
	username  VARCHAR(320) NOT NULL,
	validity  BIGINT       NOT NULL,
	last_uid  BIGINT       NOT NULL,
	PRIMARY KEY (username)
);
