package event

// Event is one mail event: one of the types in this package.
type Event interface {
	// Source is the program that reports the event, in Postfix's and
	// Dovecot's names ("smtpd", "submission/smtpd", "qmgr", "imap-login").
	Source() Program
}

// Publisher is what components publish to; *Bus implements it.
type Publisher interface {
	Publish(Event)
}

// Subscriber receives every published event, synchronously, on the
// publisher's goroutine. It must be safe for concurrent use and quick: a
// slow subscriber slows the SMTP session that published.
type Subscriber interface {
	Handle(Event)
}

// SubscriberFunc adapts a function to Subscriber.
type SubscriberFunc func(Event)

// Handle calls f(ev).
func (f SubscriberFunc) Handle(ev Event) { f(ev) }

// Bus calls every subscriber for each published event, in the order they
// were subscribed. Subscribe before the first Publish; the list is not
// locked. A nil *Bus discards events, so components may leave it unset.
type Bus struct {
	subs []Subscriber
}

// NewBus returns a bus with the given subscribers.
func NewBus(subs ...Subscriber) *Bus {
	return &Bus{subs: append([]Subscriber(nil), subs...)}
}

// Subscribe adds s. Call it only while nothing publishes yet.
func (b *Bus) Subscribe(s Subscriber) { b.subs = append(b.subs, s) }

// Publish hands ev to every subscriber. It starts no goroutine and
// allocates nothing itself.
func (b *Bus) Publish(ev Event) {
	if b == nil {
		return
	}
	for _, s := range b.subs {
		s.Handle(ev)
	}
}

// Discard is a Publisher that drops every event.
var Discard Publisher = (*Bus)(nil)
