// Package delivery hands an accepted message to its destinations: local
// mailboxes through the store (Maildir + index) and everything else to the
// queue. Deliver returns nil only when every copy is durable, so the SMTP
// server may then say 250. It does not speak SMTP and does not decide
// policy; it runs after the session has accepted the message.
package delivery
