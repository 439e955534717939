-- SAVEDATE (RFC 8514): when a message was saved into its folder
-- (delivery, APPEND, COPY, MOVE, import), Unix seconds. NULL for messages
-- stored before this column existed: their save date is unknown (NIL).
ALTER TABLE mail_message ADD COLUMN save_date BIGINT;
