package mlog

import (
	"log/slog"
	"net/netip"
	"testing"
	"time"

	"mailwarden/internal/event"
)

func TestAppendText(t *testing.T) {
	ip := netip.MustParseAddr("192.0.2.7")
	lip := netip.MustParseAddr("198.51.100.1")
	peer := event.Peer{Host: "mx.example", IP: ip}
	anon := event.Peer{IP: netip.MustParseAddr("::ffff:192.0.2.8")}
	for _, tc := range []struct {
		name string
		ev   event.Event
		want string // "" for no line
		lvl  slog.Level
	}{
		{"connect", &event.Connect{Client: peer}, "connect from mx.example[192.0.2.7]", slog.LevelInfo},
		{"connect imap (not logged)", &event.Connect{Program: event.IMAPLogin, Client: peer}, "", 0},
		{"disconnect", &event.Disconnect{Client: anon, Commands: []event.Count{
			{Name: "ehlo", OK: 1, Total: 1}, {Name: "mail", OK: 1, Total: 1}, {Name: "rcpt", OK: 0, Total: 1},
			{Name: "data", OK: 0, Total: 1}, {Name: "bdat", Total: 0}}},
			"disconnect from unknown[192.0.2.8] ehlo=1 mail=1 rcpt=0/1 data=0/1 commands=2/4", slog.LevelInfo},
		{"disconnect nothing", &event.Disconnect{Client: anon}, "disconnect from unknown[192.0.2.8] commands=0", slog.LevelInfo},
		{"timeout", &event.Lost{Kind: event.Timeout, After: "DATA", Client: peer}, "timeout after DATA from mx.example[192.0.2.7]", slog.LevelInfo},
		{"lost", &event.Lost{After: "RCPT", Client: peer}, "lost connection after RCPT from mx.example[192.0.2.7]", slog.LevelInfo},
		{"errors", &event.Lost{Kind: event.TooManyErrors, After: "RCPT", Client: peer}, "too many errors after RCPT from mx.example[192.0.2.7]", slog.LevelInfo},
		{"pipelining", &event.Lost{Kind: event.Pipelining, After: "CONNECT", Client: peer, Detail: "EHLO x"},
			"improper command pipelining after CONNECT from mx.example[192.0.2.7]: EHLO x", slog.LevelInfo},
		{"too many smtp", &event.TooManyConnections{Program: event.Submission, Client: peer, Limit: 5},
			"warning: Connection concurrency limit exceeded: 5 from mx.example[192.0.2.7] for service submission", slog.LevelWarn},
		{"too many imap", &event.TooManyConnections{Program: event.IMAPLogin, Client: peer},
			"imap-login: Disconnected: Too many connections: rip=192.0.2.7", slog.LevelWarn},
		{"blocked smtp", &event.Blocked{Client: anon, Reason: "spam run"},
			"blocked connection from unknown[192.0.2.8] for service smtp: spam run", slog.LevelInfo},
		{"blocked submissions, no reason", &event.Blocked{Program: event.Submissions, Client: anon},
			"blocked connection from unknown[192.0.2.8] for service submissions", slog.LevelInfo},
		{"blocked pop3", &event.Blocked{Program: event.POP3Login, Client: anon, Reason: "brute force"},
			"pop3-login: Disconnected: Client blocked (brute force): rip=192.0.2.8", slog.LevelInfo},
		{"blocked imap, no reason", &event.Blocked{Program: event.IMAPLogin, Client: peer},
			"imap-login: Disconnected: Client blocked: rip=192.0.2.7", slog.LevelInfo},
		{"reject relay", &event.Reject{Stage: "RCPT", Client: peer, Code: 554, DSN: "5.7.1", Text: "<x@y.test>: Relay access denied",
			From: "a@b.test", To: "x@y.test", Proto: "ESMTP", Helo: "h.test"},
			"NOQUEUE: reject: RCPT from mx.example[192.0.2.7]: 554 5.7.1 <x@y.test>: Relay access denied; from=<a@b.test> to=<x@y.test> proto=ESMTP helo=<h.test>", slog.LevelInfo},
		{"reject data with id, no helo", &event.Reject{QueueID: "4F2A", Stage: "END-OF-MESSAGE", Client: peer, Code: 552, DSN: "5.2.2", Text: "Mailbox full", Proto: "SMTP"},
			"4F2A: reject: END-OF-MESSAGE from mx.example[192.0.2.7]: 552 5.2.2 Mailbox full; from=<> proto=SMTP", slog.LevelInfo},
		{"hold", &event.Reject{Action: "hold", Stage: "RCPT", Client: peer, Code: 250, Text: "<x@y>: Recipient address triggers HOLD action", From: "a", To: "x@y", Proto: "ESMTP"},
			"NOQUEUE: hold: RCPT from mx.example[192.0.2.7]: 250 <x@y>: Recipient address triggers HOLD action; from=<a> to=<x@y> proto=ESMTP", slog.LevelInfo},
		{"queued", &event.Queued{QueueID: "4F2A", Client: peer}, "4F2A: client=mx.example[192.0.2.7]", slog.LevelInfo},
		{"queued sasl", &event.Queued{Program: event.Submission, QueueID: "4F2A", Client: peer, SASLMethod: "PLAIN", SASLUser: "u@example"},
			"4F2A: client=mx.example[192.0.2.7], sasl_method=PLAIN, sasl_username=u@example", slog.LevelInfo},
		{"auth failed", &event.AuthFailed{Client: peer, Mechanism: "PLAIN", Reason: "authentication failure", User: "u"},
			"warning: mx.example[192.0.2.7]: SASL PLAIN authentication failed: authentication failure, sasl_username=u", slog.LevelWarn},
		{"auth failed no user", &event.AuthFailed{Client: peer, Mechanism: "LOGIN"},
			"warning: mx.example[192.0.2.7]: SASL LOGIN authentication failed: authentication failure", slog.LevelWarn},
		{"auth failed imap (not logged)", &event.AuthFailed{Program: event.IMAPLogin, Client: peer, Mechanism: "PLAIN"}, "", 0},
		{"auth ok (not logged)", &event.AuthOK{Client: peer, Mechanism: "PLAIN", User: "u"}, "", 0},
		{"message-id", &event.MessageID{QueueID: "4F2A", MessageID: "<1@x>"}, "4F2A: message-id=<1@x>", slog.LevelInfo},
		{"received", &event.Received{QueueID: "4F2A", From: "a@b", Size: 812, NRcpt: 2}, "4F2A: from=<a@b>, size=812, nrcpt=2 (queue active)", slog.LevelInfo},
		{"received null", &event.Received{QueueID: "4F2A", Size: 1, NRcpt: 1}, "4F2A: from=<>, size=1, nrcpt=1 (queue active)", slog.LevelInfo},
		{"pickup", &event.Submitted{QueueID: "4F2A", UID: 1000, From: "root"}, "4F2A: uid=1000 from=<root>", slog.LevelInfo},
		{"sent", &event.Delivery{QueueID: "4F2A", To: "b@c", OrigTo: "x@c", Relay: "mx.c[192.0.2.9]:25", Delay: 1234 * time.Millisecond,
			Delays: [4]time.Duration{100 * time.Millisecond, 0, 500 * time.Millisecond, 634 * time.Millisecond}, DSN: "2.0.0", Text: "250 2.0.0 Ok"},
			"4F2A: to=<b@c>, orig_to=<x@c>, relay=mx.c[192.0.2.9]:25, delay=1.23, delays=0.1/0/0.5/0.63, dsn=2.0.0, status=sent (250 2.0.0 Ok)", slog.LevelInfo},
		{"deferred", &event.Delivery{QueueID: "4F2A", To: "b@c", Relay: "none", Delay: 42 * time.Second, DSN: "4.4.1", Status: event.Deferred, Text: "connect to c: refused"},
			"4F2A: to=<b@c>, relay=none, delay=42, dsn=4.4.1, status=deferred (connect to c: refused)", slog.LevelInfo},
		{"bounced", &event.Delivery{QueueID: "4F2A", To: "b@c", Delay: 3600 * time.Second, DSN: "5.1.1", Status: event.Bounced, Text: "550 5.1.1 no"},
			"4F2A: to=<b@c>, relay=none, delay=3600, dsn=5.1.1, status=bounced (550 5.1.1 no)", slog.LevelInfo},
		{"expired", &event.Expired{QueueID: "4F2A", From: "a@b"}, "4F2A: from=<a@b>, status=expired, returned to sender", slog.LevelInfo},
		{"removed", &event.Removed{QueueID: "4F2A"}, "4F2A: removed", slog.LevelInfo},
		{"hold one", &event.Admin{Action: event.Hold, QueueID: "4F2A"}, "4F2A: placed on hold", slog.LevelInfo},
		{"release one", &event.Admin{Action: event.Release, QueueID: "4F2A"}, "4F2A: released from hold", slog.LevelInfo},
		{"delete one", &event.Admin{Action: event.Delete, QueueID: "4F2A"}, "4F2A: removed", slog.LevelInfo},
		{"flush one", &event.Admin{Action: event.Flush, QueueID: "4F2A"}, "4F2A: flushed", slog.LevelInfo},
		{"delete all", &event.Admin{Action: event.Delete, QueueID: "ALL", Count: 3}, "Deleted: 3 messages", slog.LevelInfo},
		{"hold all", &event.Admin{Action: event.Hold, QueueID: "ALL", Count: 1}, "Placed on hold: 1 message", slog.LevelInfo},
		{"ndr", &event.DSN{QueueID: "4F2A", NewID: "5B3C"}, "4F2A: sender non-delivery notification: 5B3C", slog.LevelInfo},
		{"delay dsn", &event.DSN{QueueID: "4F2A", NewID: "5B3C", Kind: event.Delay}, "4F2A: sender delay notification: 5B3C", slog.LevelInfo},
		{"success dsn", &event.DSN{QueueID: "4F2A", NewID: "5B3C", Kind: event.Success}, "4F2A: sender delivery status notification: 5B3C", slog.LevelInfo},
		{"postmaster", &event.DSN{QueueID: "4F2A", NewID: "5B3C", Postmaster: true}, "4F2A: postmaster non-delivery notification: 5B3C", slog.LevelInfo},
		{"login", &event.Login{User: "u@x", Method: "PLAIN", RIP: ip, LIP: lip, TLS: true},
			"imap-login: Login: user=<u@x>, method=PLAIN, rip=192.0.2.7, lip=198.51.100.1, mpid=42, TLS", slog.LevelInfo},
		{"login loopback", &event.Login{Program: event.POP3Login, User: "u@x", Method: "LOGIN", RIP: netip.MustParseAddr("127.0.0.1"), LIP: netip.MustParseAddr("127.0.0.1")},
			"pop3-login: Login: user=<u@x>, method=LOGIN, rip=127.0.0.1, lip=127.0.0.1, mpid=42, secured", slog.LevelInfo},
		{"auth failed disconnect", &event.LoginDisconnect{Reason: "Logged out", Failures: 2, Duration: 4, User: "u@x", Method: "PLAIN", RIP: ip, LIP: lip, TLS: true},
			"imap-login: Disconnected: Logged out (auth failed, 2 attempts in 4 secs): user=<u@x>, method=PLAIN, rip=192.0.2.7, lip=198.51.100.1, TLS", slog.LevelInfo},
		{"no auth", &event.LoginDisconnect{Program: event.POP3Login, Duration: 0, RIP: ip, LIP: lip},
			"pop3-login: Disconnected (no auth attempts in 0 secs): rip=192.0.2.7, lip=198.51.100.1", slog.LevelInfo},
		{"plaintext refused", &event.LoginDisconnect{Reason: "Inactivity", Refused: true, RIP: ip, LIP: lip},
			"imap-login: Disconnected: Inactivity (tried to use disallowed plaintext auth): rip=192.0.2.7, lip=198.51.100.1", slog.LevelInfo},
		{"imap logout", &event.Logout{User: "u@x", Reason: "Logged out", Stats: "in=10 out=20"}, "imap(u@x): Logged out in=10 out=20", slog.LevelInfo},
		{"imap dropped", &event.Logout{User: "u@x", Reason: "Inactivity", Stats: "in=10 out=20"}, "imap(u@x): Disconnected: Inactivity in=10 out=20", slog.LevelInfo},
		{"pop3 logout", &event.Logout{Program: event.POP3, User: "u@x", Reason: "Logged out", Stats: "top=0/0"}, "pop3(u@x): Disconnected: Logged out top=0/0", slog.LevelInfo},
		{"note", &event.Note{Text: "daemon started"}, "daemon started", slog.LevelInfo},
		{"note warn", &event.Note{Level: slog.LevelWarn, Text: "disk"}, "warning: disk", slog.LevelWarn},
		{"note error", &event.Note{Level: slog.LevelError, Text: "disk"}, "error: disk", slog.LevelError},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, lvl, ok := AppendText(nil, tc.ev, 42)
			if tc.want == "" {
				if ok {
					t.Fatalf("want no line, got %q", b)
				}
				return
			}
			if !ok || string(b) != tc.want || lvl != tc.lvl {
				t.Errorf("got  %q (%v, %v)\nwant %q (%v)", b, lvl, ok, tc.want, tc.lvl)
			}
		})
	}
}

func TestAppendSecs(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0: "0", time.Millisecond: "0", 10 * time.Millisecond: "0.01", 200 * time.Millisecond: "0.2",
		1500 * time.Millisecond: "1.5", 9994 * time.Millisecond: "9.99", 12340 * time.Millisecond: "12.3",
		100 * time.Second: "100", -time.Second: "0",
	} {
		if got := string(appendSecs(nil, d)); got != want {
			t.Errorf("%v: got %q, want %q", d, got, want)
		}
	}
}
