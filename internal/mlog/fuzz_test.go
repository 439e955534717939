package mlog

import (
	"bytes"
	"net/netip"
	"testing"

	"mailwarden/internal/event"
)

// FuzzOneLine: whatever a client puts in the fields it controls (HELO,
// addresses, user names, reply text), an event is exactly one log line.
func FuzzOneLine(f *testing.F) {
	for _, s := range []string{"", "x@y.test", "a\r\nDec  3 07:00:00 mx mailwarden/smtpd[1]: forged", "\x00\x7f\xff", "<>"} {
		f.Add(s, s)
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		var buf bytes.Buffer
		w, err := Open(Options{Host: "mx", Stderr: &buf})
		if err != nil {
			t.Fatal(err)
		}
		ip := netip.MustParseAddr("192.0.2.1")
		evs := []event.Event{
			&event.Reject{Stage: "RCPT", Client: event.Peer{Host: a, IP: ip}, Code: 550, Text: b, From: a, To: b, Helo: a},
			&event.Queued{QueueID: a, Client: event.Peer{Host: b}, SASLMethod: a, SASLUser: b},
			&event.AuthFailed{Client: event.Peer{IP: ip}, Mechanism: a, User: b},
			&event.Login{User: a, Method: b, RIP: ip, LIP: ip},
			&event.LoginDisconnect{Reason: a, User: b, Failures: 1, RIP: ip, LIP: ip},
			&event.Delivery{QueueID: a, To: b, OrigTo: a, Relay: b, Text: a},
			&event.Note{Text: a + b},
		}
		for _, ev := range evs {
			buf.Reset()
			w.Handle(ev)
			if n := bytes.Count(buf.Bytes(), []byte("\n")); n != 1 || !bytes.HasSuffix(buf.Bytes(), []byte("\n")) {
				t.Fatalf("%T wrote %d lines: %q", ev, n, buf.Bytes())
			}
			if bytes.ContainsAny(buf.Bytes()[:buf.Len()-1], "\r\x00") {
				t.Fatalf("%T wrote a control character: %q", ev, buf.Bytes())
			}
		}
	})
}
