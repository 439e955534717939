package event

import "time"

// MessageID is cleanup's "ID: message-id=<x@y>" for an accepted message.
type MessageID struct {
	QueueID   string
	MessageID string // the header's value as written, usually "<x@y>"; "" prints "message-id=<>"
}

// Received is the queue manager's "ID: from=<a>, size=N, nrcpt=N (queue
// active)": the message is accepted and its recipients are about to be
// delivered. pflogsumm takes the bytes and senders from it.
type Received struct {
	QueueID string
	From    string
	Size    int64
	NRcpt   int
}

// Submitted is a message submitted locally (mailwarden sendmail): "ID:
// uid=1000 from=<a>". pflogsumm counts it as received.
type Submitted struct {
	QueueID string
	UID     int
	From    string
}

// Status is a delivery outcome.
type Status uint8

// The outcomes Postfix logs in status=.
const (
	Sent     Status = iota // delivered (status=sent)
	Deferred               // temporary failure, will retry (status=deferred)
	Bounced                // permanent failure or expired; a DSN goes back (status=bounced)
)

func (s Status) String() string {
	switch s {
	case Sent:
		return "sent"
	case Deferred:
		return "deferred"
	case Bounced:
		return "bounced"
	}
	return "unknown"
}

// Delivery is one recipient's delivery attempt: "ID: to=<b>, orig_to=<c>,
// relay=mx[1.2.3.4]:25, delay=1.2, delays=0.1/0/0.5/0.6, dsn=2.0.0,
// status=sent (250 2.0.0 Ok)".
type Delivery struct {
	Program Program // SMTP, LMTP, Virtual (local Maildir), or Smtpd-family for the SMTP reply path
	QueueID string
	To      string
	OrigTo  string // "" leaves orig_to= out
	Relay   string // "mx.example[1.2.3.4]:25", "local", "none"
	Delay   time.Duration
	// Delays are Postfix's a/b/c/d: before the queue manager, in the
	// queue, connection setup, transmission. All zero leaves delays= out.
	Delays [4]time.Duration
	DSN    string // "2.0.0"
	Status Status
	Text   string // in parentheses: "250 2.0.0 Ok: queued as X", "delivered to maildir"
	Size   int64  // message size, for metrics (not logged; pflogsumm takes it from Received)
}

// Expired is a message returned to its sender because it stayed in the
// queue too long: qmgr's "ID: from=<a>, status=expired, returned to sender".
type Expired struct {
	QueueID string
	From    string
}

// Removed is the queue manager's "ID: removed": every recipient is done.
type Removed struct {
	QueueID string
}

// AdminAction is a queue administration command.
type AdminAction uint8

// The postsuper/postqueue actions.
const (
	Hold    AdminAction = iota // postsuper -h: "ID: placed on hold"
	Release                    // postsuper -H: "ID: released from hold"
	Delete                     // postsuper -d: "ID: removed"
	Flush                      // postqueue -f/-i: "ID: flushed"
)

// Admin is a queue administration action on one message, or on all of
// them (QueueID "ALL": "Placed on hold: 3 messages").
type Admin struct {
	Action  AdminAction
	QueueID string
	Count   int // messages affected, for "ALL"
}

// DSNKind is the kind of a delivery status notification.
type DSNKind uint8

// The notifications the queue sends.
const (
	NonDelivery DSNKind = iota // "sender non-delivery notification"
	Delay                      // "sender delay notification"
	Success                    // "sender delivery status notification"
)

// DSN is a notification the bounce daemon queued: "ID: sender
// non-delivery notification: NEWID" ("postmaster ..." for the double
// bounce copy).
type DSN struct {
	QueueID    string
	NewID      string
	Kind       DSNKind
	Postmaster bool
}
