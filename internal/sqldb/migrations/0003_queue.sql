-- Queue scheduling and DSN state.

-- warned: a delay notification was sent; body8/smtputf8: the message needs
-- BODY=8BITMIME / SMTPUTF8 on the way out.
ALTER TABLE queue_message ADD COLUMN warned SMALLINT NOT NULL DEFAULT 0;
ALTER TABLE queue_message ADD COLUMN body8 SMALLINT NOT NULL DEFAULT 0;
ALTER TABLE queue_message ADD COLUMN smtputf8 SMALLINT NOT NULL DEFAULT 0;
CREATE INDEX queue_message_due ON queue_message(held, next_attempt);

-- Per recipient: the enhanced status code of the last attempt, the host
-- that answered ("none" when none did) and when it was made (unix seconds).
ALTER TABLE queue_rcpt ADD COLUMN dsn VARCHAR(16) NOT NULL DEFAULT '';
ALTER TABLE queue_rcpt ADD COLUMN relay VARCHAR(512) NOT NULL DEFAULT '';
ALTER TABLE queue_rcpt ADD COLUMN last_attempt BIGINT NOT NULL DEFAULT 0;
