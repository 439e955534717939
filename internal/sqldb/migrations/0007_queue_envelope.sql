-- The queue keeps the envelope whole (envelope.Envelope as JSON: client
-- facts with HELO, TLS, protocol and port, DSN parameters, header edits,
-- verdicts), so a deferred or relayed message loses nothing the session
-- knew. Rows written before this column existed hold '' and are read from
-- the columns of 0001 and 0003 as before. The columns stay: the admin
-- commands and the runner's queries read them.
ALTER TABLE queue_message ADD COLUMN envelope TEXT NOT NULL DEFAULT '';
