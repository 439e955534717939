package e2e

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// oneDomain creates dom.test with mailboxes alice and bob.
func oneDomain(s *server) {
	s.admin("domain", "add", "dom.test")
	s.addUser("alice@dom.test", "--name", "Alice Example")
	s.addUser("bob@dom.test")
}

// TestDelivery: a message from the internet (127.0.0.2, outside mynetworks)
// to a local mailbox lands in its Maildir new/ with Return-Path,
// Delivered-To and Received on top, the body intact (dot-stuffing undone),
// one index row, quota2 updated, and the Postfix-style log lines.
func TestDelivery(t *testing.T) {
	t.Parallel()
	s := startServer(t, options{}, oneDomain)
	id := newMessageID("delivery")
	body := "Hello Alice,\n\nthis is a test.\n.a line that starts with a dot\n..and one with two\n"
	msg := message("Sender <sender@remote.example>", "Alice <alice@dom.test>", "hello", id, body)
	qid := s.send("sender@remote.example", "alice@dom.test", msg, "--local-interface", "127.0.0.2")

	files := s.inbox("alice@dom.test")
	if len(files) != 1 {
		t.Fatalf("alice's INBOX holds %d messages right after 250, want 1", len(files))
	}
	f := files[0]
	if !strings.HasPrefix(f.Rel, "new/") {
		t.Errorf("delivered file is %s, want it in new/", f.Rel)
	}
	lines := headerLines(f.Data)
	if len(lines) < 3 {
		t.Fatalf("message has %d header lines:\n%s", len(lines), f.Data)
	}
	if lines[0] != "Return-Path: <sender@remote.example>" {
		t.Errorf("first line %q, want Return-Path: <sender@remote.example>", lines[0])
	}
	if !regexp.MustCompile(`^Delivered-To: <?alice@dom\.test>?$`).MatchString(lines[1]) {
		t.Errorf("second line %q, want Delivered-To: alice@dom.test", lines[1])
	}
	// Then our Authentication-Results (folded over several lines, above
	// the trace as OpenDKIM puts it), then our Received: field.
	if !strings.HasPrefix(lines[2], "Authentication-Results: mx.test.example;") {
		t.Errorf("third line %q, want our Authentication-Results: header", lines[2])
	}
	next := 3
	for next < len(lines) && (strings.HasPrefix(lines[next], " ") || strings.HasPrefix(lines[next], "\t")) {
		next++
	}
	if next >= len(lines) || !strings.HasPrefix(lines[next], "Received: from ") {
		t.Errorf("the field after Authentication-Results is %q, want our Received: header", lines[min(next, len(lines)-1)])
	}
	rcvd := f.Headers["Received"]
	if len(rcvd) == 0 || !strings.Contains(rcvd[0], "by mx.test.example (Mailwarden) with ESMTP id "+qid) ||
		!strings.Contains(rcvd[0], "127.0.0.2") {
		t.Errorf("Received: %q, want it to name 127.0.0.2 and say \"by mx.test.example (Mailwarden) with ESMTP id %s\"", rcvd, qid)
	}
	if got := f.Headers.Get("Message-Id"); got != id {
		t.Errorf("Message-ID %q, want %q", got, id)
	}
	if got := f.Headers.Get("Subject"); got != "hello" {
		t.Errorf("Subject %q, want hello", got)
	}
	// swaks ends DATA with an extra CRLF: compare without trailing blank lines.
	wantBody := strings.TrimRight(strings.ReplaceAll(body, "\n", "\r\n"), "\r\n")
	if !strings.HasSuffix(strings.TrimRight(string(f.Data), "\r\n"), "\r\n\r\n"+wantBody) {
		t.Errorf("body not delivered intact; file:\n%q\nwant it to end with\n%q", f.Data, wantBody)
	}

	db := s.openDB()
	rows := queryStrings(t, db, `SELECT m.filename, m.size FROM mail_message m JOIN mail_folder f ON f.id = m.folder_id
		WHERE f.username = 'alice@dom.test' AND f.name = 'INBOX'`)
	want := f.Rel + "|" + strconv.Itoa(len(f.Data))
	if len(rows) != 1 || rows[0] != want {
		t.Errorf("mail_message rows of alice's INBOX: %q, want [%s]", rows, want)
	}
	s.checkIndex()

	s.waitLog(func(l string) bool {
		return strings.Contains(l, qid+": from=<sender@remote.example>") &&
			strings.Contains(l, qid+": to=<alice@dom.test>, relay=local") && strings.Contains(l, "status=sent (delivered to maildir)")
	}, "the from= and to=...status=sent lines of "+qid)
}

// TestUnknownUser: smtplib gets 550 5.1.1 at RCPT for a mailbox that does not
// exist in a local domain, and nothing is stored or queued.
func TestUnknownUser(t *testing.T) {
	t.Parallel()
	s := startServer(t, options{}, oneDomain)
	id := newMessageID("unknown")
	res := s.pySend("127.0.0.2", "sender@remote.example", []string{"nobody@dom.test"},
		message("sender@remote.example", "nobody@dom.test", "hi", id, "hi"))
	r, ok := res.Refused["nobody@dom.test"]
	if res.OK || res.Stage != "rcpt" || !ok || r.Code != 550 || !strings.HasPrefix(r.Msg, "5.1.1") {
		t.Fatalf("smtplib result %+v, want RCPT refused with 550 5.1.1", res)
	}
	if n := len(s.allMailFiles()); n != 0 {
		t.Errorf("%d message files stored after a refused RCPT", n)
	}
	if q := queryStrings(t, s.openDB(), `SELECT id FROM queue_message`); len(q) != 0 {
		t.Errorf("queue holds %q after a refused RCPT", q)
	}
}

// TestRelay: from outside mynetworks a foreign recipient is refused with
// 554 5.7.1 Relay access denied (swaks and smtplib); from 127.0.0.1 (in
// mynetworks) it is accepted into the queue tables as kind remote with the
// body in data_dir/queue/ID, and no Maildir gets it.
func TestRelay(t *testing.T) {
	t.Parallel()
	s := startServer(t, options{}, oneDomain)

	t.Run("denied/swaks", func(t *testing.T) {
		s := s.on(t)
		msg := message("spammer@remote.example", "victim@foreign.example", "relay?", newMessageID("relay"), "relay me")
		r := s.swaks("--local-interface", "127.0.0.2", "--from", "spammer@remote.example", "--to", "victim@foreign.example",
			"--data", "@"+s.writeMessage(msg))
		if r.Code != 24 || !strings.Contains(r.Out, "554 5.7.1") || !strings.Contains(r.Out, "Relay access denied") {
			t.Fatalf("swaks exit %d, want 24 (no RCPT accepted) with 554 5.7.1 ... Relay access denied:\n%s", r.Code, r.Out)
		}
	})
	t.Run("denied/smtplib", func(t *testing.T) {
		s := s.on(t)
		res := s.pySend("127.0.0.2", "spammer@remote.example", []string{"victim@foreign.example"},
			message("spammer@remote.example", "victim@foreign.example", "relay?", newMessageID("relay"), "relay me"))
		r := res.Refused["victim@foreign.example"]
		if res.Stage != "rcpt" || r.Code != 554 || !strings.HasPrefix(r.Msg, "5.7.1") || !strings.Contains(r.Msg, "Relay access denied") {
			t.Fatalf("smtplib result %+v, want RCPT refused with 554 5.7.1 Relay access denied", res)
		}
	})
	if q := queryStrings(t, s.openDB(), `SELECT id FROM queue_message`); len(q) != 0 {
		t.Errorf("queue holds %q after refused relay attempts", q)
	}

	t.Run("allowed from mynetworks", func(t *testing.T) {
		s := s.on(t)
		id := newMessageID("relay-ok")
		qid := s.send("alice@dom.test", "friend@foreign.example",
			message("alice@dom.test", "friend@foreign.example", "outbound", id, "going out"))
		db := s.openDB()
		rc := queryStrings(t, db, `SELECT queue_id, rcpt, kind FROM queue_rcpt`)
		want := qid + "|friend@foreign.example|remote"
		if len(rc) != 1 || rc[0] != want {
			t.Errorf("queue_rcpt rows %q, want [%s]", rc, want)
		}
		if m := queryStrings(t, db, `SELECT id, sender FROM queue_message`); len(m) != 1 || m[0] != qid+"|alice@dom.test" {
			t.Errorf("queue_message rows %q, want [%s|alice@dom.test]", m, qid)
		}
		body := readFileOr(t, s.DataDir+"/queue/"+qid)
		if !strings.Contains(body, "Message-ID: "+id) {
			t.Errorf("queue file %s does not hold the message:\n%s", qid, body)
		}
		if n := len(s.allMailFiles()); n != 0 {
			t.Errorf("a relayed message left %d files in Maildirs", n)
		}
	})
}

// TestSizeLimits: EHLO advertises SIZE 1048576; a client that declares a
// bigger size (smtplib does so on its own) is refused at MAIL with 552
// 5.3.4; one that does not (swaks) is refused after DATA with 552 5.3.4;
// the session stays usable; a 900K message is accepted.
func TestSizeLimits(t *testing.T) {
	t.Parallel()
	s := startServer(t, options{}, oneDomain)
	big := message("sender@remote.example", "alice@dom.test", "big", newMessageID("big"), bigBody(1500<<10))

	t.Run("declared", func(t *testing.T) {
		s := s.on(t)
		res := s.pySend("127.0.0.2", "sender@remote.example", []string{"alice@dom.test"}, big)
		if res.Features["size"] != "1048576" {
			t.Errorf("EHLO SIZE %q, want 1048576", res.Features["size"])
		}
		if res.Stage != "mail" || res.Code != 552 || !strings.HasPrefix(res.Msg, "5.3.4") {
			t.Fatalf("smtplib result %+v, want MAIL refused with 552 5.3.4", res)
		}
	})
	t.Run("body", func(t *testing.T) {
		s := s.on(t)
		r := s.swaks("--local-interface", "127.0.0.2", "--from", "sender@remote.example", "--to", "alice@dom.test",
			"--data", "@"+s.writeMessage(big), "--suppress-data")
		if r.Code != 26 || !strings.Contains(r.Out, "552 5.3.4") {
			t.Fatalf("swaks exit %d, want 26 (refused after DATA) with 552 5.3.4:\n%s", r.Code, lastLines(r.Out, 15))
		}
	})
	t.Run("session continues", func(t *testing.T) {
		s := s.on(t)
		c, err := smtpDial(s.Addr(), "127.0.0.2")
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		err = sendOn(c, "sender@remote.example", []string{"alice@dom.test"}, big)
		if code, text := replyOf(err); code != 552 || !strings.HasPrefix(text, "5.3.4") {
			t.Fatalf("oversized DATA: %v, want 552 5.3.4", err)
		}
		id := newMessageID("after-big")
		if err := sendOn(c, "sender@remote.example", []string{"alice@dom.test"},
			message("sender@remote.example", "alice@dom.test", "small", id, "small one")); err != nil {
			t.Fatalf("next transaction on the same connection: %v", err)
		}
		c.Quit()
		if n := len(s.findMessage("alice@dom.test", id)); n != 1 {
			t.Errorf("small message after the refused one stored %d times, want 1", n)
		}
	})
	t.Run("under the limit", func(t *testing.T) {
		s := s.on(t)
		id := newMessageID("900k")
		s.send("sender@remote.example", "alice@dom.test",
			message("sender@remote.example", "alice@dom.test", "900K", id, bigBody(900<<10)), "--local-interface", "127.0.0.2")
		if n := len(s.findMessage("alice@dom.test", id)); n != 1 {
			t.Errorf("900K message stored %d times, want 1", n)
		}
	})
	if n := len(s.inbox("alice@dom.test")); n != 2 {
		t.Errorf("alice's INBOX holds %d messages, want 2 (the oversized ones must not be stored)", n)
	}
	s.checkIndex()
}

// TestPlusAddressing: alice+tag@dom.test (any case) reaches alice; an
// unknown user with a tag is still unknown.
func TestPlusAddressing(t *testing.T) {
	t.Parallel()
	s := startServer(t, options{}, oneDomain)
	for _, rcpt := range []string{"alice+news@dom.test", "Alice+Other@DOM.test", "alice+@dom.test"} {
		id := newMessageID("plus")
		s.send("sender@remote.example", rcpt, message("sender@remote.example", rcpt, "plus", id, "tagged"),
			"--local-interface", "127.0.0.2")
		if n := len(s.findMessage("alice@dom.test", id)); n != 1 {
			t.Errorf("mail to %s: %d copies in alice's INBOX, want 1", rcpt, n)
		}
	}
	r := s.swaks("--local-interface", "127.0.0.2", "--from", "sender@remote.example", "--to", "nobody+x@dom.test")
	if r.Code != 24 || !strings.Contains(r.Out, "550 5.1.1") {
		t.Errorf("nobody+x@dom.test: swaks exit %d, want 24 with 550 5.1.1:\n%s", r.Code, r.Out)
	}
	if n := len(s.inbox("bob@dom.test")); n != 0 {
		t.Errorf("bob got %d messages meant for alice", n)
	}
}

func bigBody(n int) string {
	line := strings.Repeat("0123456789abcdefghijklmnopqrstuvwxyz", 2) + "\n"
	return strings.Repeat(line, n/len(line)+1)
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
