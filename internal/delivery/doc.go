// Package delivery hands an accepted message to its destinations. Every
// destination is a Target taking the message as a small transaction
// (Start, AddRcpt, Body, Commit or Abort): the local store (Local), the
// queue (Queue, and Hold, the queue on hold), a next hop over SMTP or LMTP
// (NextHop) and Discard. The Router chooses a target per recipient and
// nothing else; the targets of one message commit together through one
// Group, a single SQL transaction, so every copy becomes durable or none
// does. Deliver returns nil only then, and the SMTP server may say 250.
// Local is the one local delivery path: the router (SMTP sessions,
// pickup) and the queue runner (Local.Queued) both use it, with the
// folder chosen by a FolderFunc. It does not speak SMTP to clients and
// does not decide policy; it runs after the session accepted the message.
package delivery
