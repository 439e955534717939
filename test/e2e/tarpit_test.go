package e2e

import (
	"bufio"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"mailwarden/internal/dnsx/dnstest"
)

// TestTarpit: taRgrey with a hermetic PTR zone. 127.0.0.5 has a dynamic
// looking (S25R) name: its RCPT answer waits the tarpit, and having waited
// to DATA its triplet has passed. 127.0.0.7 has no name (S25R rule 0) and
// hangs up during the tarpit: its next try is greylisted with postgrey's
// text, and a retry after the delay gets through. 127.0.0.6, a mail
// server's name, is neither tarpitted nor greylisted.
func TestTarpit(t *testing.T) {
	dns := dnstest.New(t, `
5.0.0.127.in-addr.arpa. PTR p1234-ipad5.dyn.example.jp.
p1234-ipad5.dyn.example.jp. A 127.0.0.5
6.0.0.127.in-addr.arpa. PTR mail.good.example.
mail.good.example. A 127.0.0.6
`)
	s := startServer(t, options{Resolvers: []string{dns.Addr()}, Extra: []string{"", "[restrictions]",
		`recipient = ["reject_unauth_destination", "check_greylist", "permit"]`,
		`data = ["check_greylist", "permit"]`,
		"", "[greylist]", `delay = "2s"`, `tarpit = "2s"`}}, oneDomain)
	send := func(src, from string) (swaksResult, time.Duration) {
		t.Helper()
		start := time.Now()
		r := s.swaks("--local-interface", src, "--from", from, "--to", "alice@dom.test",
			"--data", "@"+s.writeMessage(message(from, "alice@dom.test", "tarpit", newMessageID("tarpit"), "hello")))
		return r, time.Since(start)
	}

	// The S25R client that waits gets through; its answer came after the
	// tarpit at least.
	r, took := send("127.0.0.5", "news@sender.example")
	if r.Code != 0 || r.QueueID() == "" {
		t.Fatalf("S25R client that waits: exit %d\n%s", r.Code, r.Out)
	}
	if took < 2*time.Second {
		t.Errorf("the S25R client was answered after %v, before the 2s tarpit", took)
	}
	s.waitLog(func(l string) bool {
		return strings.Contains(l, "]: action=tarpit, reason=new") && strings.Contains(l, "client_address=127.0.0.5")
	}, "the tarpit logged for 127.0.0.5")
	s.waitLog(func(l string) bool {
		return strings.Contains(l, "]: action=pass, reason=tarpit passed") && strings.Contains(l, "client_address=127.0.0.5")
	}, "127.0.0.5 passed at DATA")
	// Passed: the next message of that triplet is neither tarpitted nor
	// greylisted.
	if r, _ := send("127.0.0.5", "news@sender.example"); r.Code != 0 {
		t.Fatalf("passed triplet: exit %d\n%s", r.Code, r.Out)
	}
	s.waitLog(func(l string) bool {
		return strings.Contains(l, "]: action=pass, reason=triplet found") && strings.Contains(l, "client_address=127.0.0.5")
	}, "the passed triplet found")

	// A client without a name hangs up during the tarpit.
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.7")}, Timeout: 10 * time.Second}
	c, err := d.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(30 * time.Second))
	br := bufio.NewReader(c)
	readReply := func() string {
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				t.Fatalf("hang-up client: %v", err)
			}
			if len(line) < 4 || line[3] != '-' {
				return strings.TrimSpace(line)
			}
		}
	}
	readReply()
	for _, cmd := range []string{"EHLO bot.example", "MAIL FROM:<spam@sender.example>"} {
		fmt.Fprintf(c, "%s\r\n", cmd)
		if rep := readReply(); !strings.HasPrefix(rep, "250") {
			t.Fatalf("%s: %s", cmd, rep)
		}
	}
	fmt.Fprintf(c, "RCPT TO:<alice@dom.test>\r\n")
	s.waitLog(func(l string) bool {
		return strings.Contains(l, "]: action=tarpit, reason=new") && strings.Contains(l, "client_address=127.0.0.7")
	}, "the tarpit for 127.0.0.7")
	c.Close() // hangs up before the answer
	first := time.Now()
	r, _ = send("127.0.0.7", "spam@sender.example")
	if r.Code == 0 || !strings.Contains(r.Out, greylistText("alice@dom.test")) {
		t.Fatalf("the client that hung up, next try: exit %d, want %q\n%s", r.Code, greylistText("alice@dom.test"), r.Out)
	}
	time.Sleep(time.Until(first.Add(2500 * time.Millisecond)))
	if r, _ := send("127.0.0.7", "spam@sender.example"); r.Code != 0 {
		t.Fatalf("retry after the delay: exit %d\n%s", r.Code, r.Out)
	}

	// A mail server's name: not tarpitted, not greylisted.
	if r, _ := send("127.0.0.6", "someone@sender.example"); r.Code != 0 {
		t.Fatalf("non-S25R client: exit %d\n%s", r.Code, r.Out)
	}
	s.waitLog(func(l string) bool {
		return strings.Contains(l, "]: action=pass, reason=not S25R") && strings.Contains(l, "client_address=127.0.0.6")
	}, "127.0.0.6 passed as not S25R")
	if strings.Contains(s.Log(), "action=tarpit, reason=new, client_name=mail.good.example") {
		t.Errorf("the non-S25R client was tarpitted")
	}
}
