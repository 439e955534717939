package e2e

import (
	"net"
	"net/textproto"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestPipelining: EHLO advertises PIPELINING; swaks --pipeline with one
// unknown recipient among two good ones gets 550 5.1.1 for it and delivers
// to the others once; a raw client that sends MAIL, RCPT, RCPT, DATA in one
// write gets the four replies in order (RFC 2920), then the body and a
// pipelined QUIT get 250 and 221.
func TestPipelining(t *testing.T) {
	t.Parallel()
	s := startServer(t, options{}, oneDomain)

	t.Run("swaks", func(t *testing.T) {
		s := s.on(t)
		id := newMessageID("pipeline")
		msg := message("sender@remote.example", "alice@dom.test, bob@dom.test", "pipelined", id, "pipelined")
		r := s.swaks("--pipeline", "--local-interface", "127.0.0.2", "--from", "sender@remote.example",
			"--to", "alice@dom.test,nobody@dom.test,bob@dom.test", "--data", "@"+s.writeMessage(msg))
		if r.Code != 0 {
			t.Fatalf("swaks --pipeline exit %d, want 0:\n%s", r.Code, r.Out)
		}
		if !regexp.MustCompile(`(?m)^<-\s+250[ -]PIPELINING`).MatchString(r.Out) {
			t.Errorf("EHLO reply does not advertise PIPELINING:\n%s", r.Out)
		}
		if !strings.Contains(r.Out, "550 5.1.1") {
			t.Errorf("no 550 5.1.1 for nobody@dom.test in the transcript:\n%s", r.Out)
		}
		if r.QueueID() == "" {
			t.Errorf("no 250 2.0.0 Ok: queued as ID:\n%s", r.Out)
		}
		for _, u := range []string{"alice@dom.test", "bob@dom.test"} {
			if n := len(s.findMessage(u, id)); n != 1 {
				t.Errorf("%s got %d copies, want 1", u, n)
			}
		}
	})

	t.Run("raw", func(t *testing.T) {
		s := s.on(t)
		conn, err := net.DialTimeout("tcp", s.Addr(), 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(time.Minute))
		tp := textproto.NewConn(conn)
		expect := func(code int, what string) string {
			t.Helper()
			_, msg, err := tp.ReadResponse(code)
			if err != nil {
				t.Fatalf("%s: %v", what, err)
			}
			return msg
		}
		expect(220, "banner")
		tp.PrintfLine("EHLO client.e2e.test")
		if ehlo := expect(250, "EHLO"); !strings.Contains(ehlo, "PIPELINING") {
			t.Fatalf("EHLO reply does not advertise PIPELINING:\n%s", ehlo)
		}
		id := newMessageID("raw-pipeline")
		// One write: the whole envelope and DATA.
		if _, err := conn.Write([]byte("MAIL FROM:<sender@remote.example>\r\nRCPT TO:<alice@dom.test>\r\n" +
			"RCPT TO:<nobody@dom.test>\r\nDATA\r\n")); err != nil {
			t.Fatal(err)
		}
		expect(250, "MAIL")
		expect(250, "RCPT alice")
		if _, msg, err := tp.ReadResponse(550); err != nil || !strings.HasPrefix(msg, "5.1.1") {
			t.Fatalf("RCPT nobody: %q %v, want 550 5.1.1", msg, err)
		}
		expect(354, "DATA")
		body := message("sender@remote.example", "alice@dom.test", "raw", id, "sent pipelined")
		if _, err := conn.Write([]byte(body + ".\r\nQUIT\r\n")); err != nil {
			t.Fatal(err)
		}
		if msg := expect(250, "end of DATA"); !strings.Contains(msg, "queued as") {
			t.Errorf("end of DATA reply %q, want Ok: queued as ID", msg)
		}
		expect(221, "QUIT")
		if n := len(s.findMessage("alice@dom.test", id)); n != 1 {
			t.Errorf("alice got %d copies, want 1", n)
		}
	})
}

// TestStartTLS: with the self-signed certificate generated in data_dir,
// swaks --tls and smtplib.starttls both deliver; the EHLO after TLS no
// longer offers STARTTLS (RFC 3207); the Received header says ESMTPS and
// names the TLS version.
func TestStartTLS(t *testing.T) {
	t.Parallel()
	s := startServer(t, options{}, oneDomain)

	t.Run("swaks", func(t *testing.T) {
		s := s.on(t)
		id := newMessageID("tls")
		qid := s.send("sender@remote.example", "alice@dom.test",
			message("sender@remote.example", "alice@dom.test", "tls", id, "over TLS"),
			"--tls", "--local-interface", "127.0.0.2")
		files := s.findMessage("alice@dom.test", id)
		if len(files) != 1 {
			t.Fatalf("alice got %d copies, want 1", len(files))
		}
		checkTLSReceived(t, files[0], qid)
	})
	t.Run("transcript", func(t *testing.T) {
		s := s.on(t)
		r := s.swaks("--tls", "--quit-after", "EHLO", "--local-interface", "127.0.0.2",
			"--from", "sender@remote.example", "--to", "alice@dom.test")
		if r.Code != 0 {
			t.Fatalf("swaks --tls exit %d:\n%s", r.Code, r.Out)
		}
		if !regexp.MustCompile(`(?m)^<-\s+250[ -]STARTTLS`).MatchString(r.Out) {
			t.Errorf("plaintext EHLO does not offer STARTTLS:\n%s", r.Out)
		}
		if !regexp.MustCompile(`(?m)^<-\s+220 `).MatchString(r.Out) || !strings.Contains(r.Out, "TLS started") {
			t.Errorf("no 220 to STARTTLS / TLS not started:\n%s", r.Out)
		}
		if regexp.MustCompile(`(?m)^<~\s+250[ -]STARTTLS`).MatchString(r.Out) {
			t.Errorf("EHLO after TLS still offers STARTTLS (RFC 3207 4.2):\n%s", r.Out)
		}
	})
	t.Run("smtplib", func(t *testing.T) {
		s := s.on(t)
		id := newMessageID("tls-py")
		res := pySendTo(t, pyReq{Host: "127.0.0.1", Port: s.Port, Src: "127.0.0.2", StartTLS: true,
			From: "sender@remote.example", To: []string{"bob@dom.test"},
			Msg: message("sender@remote.example", "bob@dom.test", "tls", id, "python over TLS")})
		if !res.OK || len(res.Refused) != 0 {
			t.Fatalf("smtplib with STARTTLS: %+v", res)
		}
		if _, ok := res.Features["starttls"]; ok {
			t.Errorf("EHLO after TLS still offers STARTTLS (RFC 3207 4.2)")
		}
		files := s.findMessage("bob@dom.test", id)
		if len(files) != 1 {
			t.Fatalf("bob got %d copies, want 1", len(files))
		}
		checkTLSReceived(t, files[0], "")
	})
}

func checkTLSReceived(t *testing.T, f mailFile, qid string) {
	t.Helper()
	rcvd := f.Headers["Received"]
	if len(rcvd) == 0 {
		t.Fatalf("no Received header:\n%s", f.Data)
	}
	r := rcvd[0]
	if !strings.Contains(r, "with ESMTPS") || !strings.Contains(r, "TLS") {
		t.Errorf("Received: %q, want \"with ESMTPS\" and the TLS version", r)
	}
	if qid != "" && !strings.Contains(r, "id "+qid) {
		t.Errorf("Received: %q does not carry the queue id %s", r, qid)
	}
}

// rawSession is a plain-text SMTP session driven by hand.
type rawSession struct {
	t    *testing.T
	conn net.Conn
	tp   *textproto.Conn
}

func dialRaw(t *testing.T, s *server) *rawSession {
	t.Helper()
	d := net.Dialer{Timeout: 10 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.2")}}
	conn, err := d.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(time.Minute))
	return &rawSession{t: t, conn: conn, tp: textproto.NewConn(conn)}
}

// reply reads one (possibly multi-line) reply and checks its code.
func (r *rawSession) reply(code int, what string) string {
	r.t.Helper()
	_, msg, err := r.tp.ReadResponse(code)
	if err != nil {
		r.t.Fatalf("%s: %v", what, err)
	}
	return msg
}

func (r *rawSession) send(data string) {
	r.t.Helper()
	if _, err := r.conn.Write([]byte(data)); err != nil {
		r.t.Fatal(err)
	}
}

// TestGreeting: the banner, the EHLO reply and the HELO reply start with
// the server's own host name, as RFC 5321 4.1.1.1 and 4.2 require
// ("250-mx.test.example ...", like Postfix), and a configured banner is
// used with $hostname expanded.
func TestGreeting(t *testing.T) {
	t.Parallel()
	s := startServer(t, options{SMTP: []string{`banner = "$hostname ESMTP ready for tests"`}}, oneDomain)
	r := dialRaw(t, s)
	if b := r.reply(220, "banner"); b != "mx.test.example ESMTP ready for tests" {
		t.Errorf("banner %q, want \"mx.test.example ESMTP ready for tests\"", b)
	}
	r.send("EHLO client.e2e.test\r\n")
	ehlo := strings.Split(r.reply(250, "EHLO"), "\n")
	if first := strings.Fields(ehlo[0]); len(first) == 0 || first[0] != "mx.test.example" {
		t.Errorf("first line of the EHLO reply is %q; RFC 5321 4.1.1.1 wants the server's domain, \"250-mx.test.example\"", ehlo[0])
	}
	r.send("HELO client.e2e.test\r\n")
	helo := r.reply(250, "HELO")
	if f := strings.Fields(helo); len(f) == 0 || f[0] != "mx.test.example" {
		t.Errorf("HELO reply %q; RFC 5321 4.1.1.1 wants \"250 mx.test.example\"", helo)
	}
	r.send("QUIT\r\n")
	r.reply(221, "QUIT")
}

// TestChunking: CHUNKING is advertised, so a message sent as two BDAT
// chunks, from the null sender (a bounce), with a 10,000-character line,
// must arrive byte for byte, with Return-Path: <>.
func TestChunking(t *testing.T) {
	t.Parallel()
	s := startServer(t, options{}, oneDomain)
	r := dialRaw(t, s)
	r.reply(220, "banner")
	r.send("EHLO client.e2e.test\r\n")
	if ehlo := r.reply(250, "EHLO"); !strings.Contains(ehlo, "CHUNKING") {
		t.Skipf("CHUNKING not advertised:\n%s", ehlo)
	}
	id := newMessageID("bdat")
	msg := message("MAILER-DAEMON@remote.example", "alice@dom.test", "Undelivered Mail Returned to Sender", id,
		"long line follows\n"+strings.Repeat("L", 10000)+"\nend\n")
	cut := len(msg) / 3
	r.send("MAIL FROM:<>\r\nRCPT TO:<alice@dom.test>\r\n")
	r.reply(250, "MAIL FROM:<>")
	r.reply(250, "RCPT")
	r.send("BDAT " + strconv.Itoa(cut) + "\r\n" + msg[:cut])
	r.reply(250, "first BDAT chunk")
	r.send("BDAT " + strconv.Itoa(len(msg)-cut) + " LAST\r\n" + msg[cut:])
	if m := r.reply(250, "BDAT LAST"); !strings.Contains(m, "queued as") {
		t.Errorf("BDAT LAST reply %q, want Ok: queued as ID", m)
	}
	r.send("QUIT\r\n")
	r.reply(221, "QUIT")
	files := s.findMessage("alice@dom.test", id)
	if len(files) != 1 {
		t.Fatalf("alice got %d copies, want 1", len(files))
	}
	data := string(files[0].Data)
	if !strings.HasPrefix(data, "Return-Path: <>\r\n") {
		t.Errorf("bounce stored with first line %q, want Return-Path: <>", headerLines(files[0].Data)[0])
	}
	if !strings.HasSuffix(data, msg) {
		t.Errorf("message not stored byte for byte after the added trace headers")
	}
}
