package event

import "testing"

func TestBusOrderAndNil(t *testing.T) {
	var got []string
	b := NewBus(SubscriberFunc(func(Event) { got = append(got, "log") }))
	b.Subscribe(SubscriberFunc(func(Event) { got = append(got, "metrics") }))
	b.Publish(&Removed{QueueID: "A"})
	if len(got) != 2 || got[0] != "log" || got[1] != "metrics" {
		t.Fatalf("got %v", got)
	}
	var nilBus *Bus
	nilBus.Publish(&Removed{}) // no panic
	Discard.Publish(&Removed{})
}

// Publish itself allocates nothing: the event is the caller's.
func TestPublishAllocs(t *testing.T) {
	n := 0
	b := NewBus(SubscriberFunc(func(Event) { n++ }), SubscriberFunc(func(Event) { n++ }))
	ev := &Removed{QueueID: "A"}
	if a := testing.AllocsPerRun(100, func() { b.Publish(ev) }); a != 0 {
		t.Errorf("Publish allocates %v times", a)
	}
}

func TestSourceAndService(t *testing.T) {
	for _, tc := range []struct {
		ev      Event
		prog    Program
		service string
	}{
		{&Connect{}, Smtpd, "smtp"},
		{&Reject{Program: Submissions}, Submissions, "submissions"},
		{&Blocked{}, Smtpd, "smtp"},
		{&Blocked{Program: IMAPLogin}, IMAPLogin, "imap"},
		{&Login{}, IMAPLogin, "imap"},
		{&LoginDisconnect{Program: POP3Login}, POP3Login, "pop3"},
		{&Submitted{}, Pickup, "sendmail"},
		{&Delivery{}, SMTP, "smtp"},
		{&Delivery{Program: Virtual}, Virtual, "virtual"},
		{&DSN{}, Bounce, "bounce"},
	} {
		if p := tc.ev.Source(); p != tc.prog || p.Service() != tc.service {
			t.Errorf("%T: %q %q, want %q %q", tc.ev, p, p.Service(), tc.prog, tc.service)
		}
	}
}

func TestPeer(t *testing.T) {
	if s := (Peer{}).String(); s != "unknown[unknown]" {
		t.Errorf("got %q", s)
	}
}
