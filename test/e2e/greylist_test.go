package e2e

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"mailwarden/internal/dnsx/dnstest"
)

// greylistText is postgrey's reply as Postfix words it for a
// DEFER_IF_PERMIT answer in smtpd_recipient_restrictions.
func greylistText(rcpt string) string {
	return "450 4.2.0 <" + rcpt + ">: Recipient address rejected: Greylisted, see http://postgrey.schweikert.ch/help/" +
		rcpt[strings.LastIndexByte(rcpt, '@')+1:] + ".html"
}

// TestGreylist: postgrey's behaviour with swaks from 127.0.0.2: the first
// try and an early retry get 450 with postgrey's text, a retry after the
// delay is accepted (with the X-Greylist field), and with
// auto_whitelist_clients = 1 that success whitelists the client for new
// senders.
func TestGreylist(t *testing.T) {
	s := startServer(t, options{Extra: []string{"", "[restrictions]",
		`recipient = ["reject_unauth_destination", "check_greylist", "permit"]`,
		"", "[greylist]", `delay = "2s"`, "auto_whitelist_clients = 1"}}, oneDomain)
	try := func(from string) swaksResult {
		t.Helper()
		return s.swaks("--local-interface", "127.0.0.2", "--from", from, "--to", "alice@dom.test",
			"--data", "@"+s.writeMessage(message(from, "alice@dom.test", "grey", newMessageID("grey"), "hello")))
	}
	first := time.Now()
	if r := try("news+123@sender.example"); r.Code == 0 || !strings.Contains(r.Out, greylistText("alice@dom.test")) {
		t.Fatalf("first try: exit %d, want %q in\n%s", r.Code, greylistText("alice@dom.test"), r.Out)
	}
	if time.Since(first) < 1500*time.Millisecond {
		// A retry at once (the normalized sender is the same triplet).
		if r := try("news+456@sender.example"); r.Code == 0 || !strings.Contains(r.Out, greylistText("alice@dom.test")) {
			t.Fatalf("early retry: exit %d\n%s", r.Code, r.Out)
		}
	}
	time.Sleep(time.Until(first.Add(2500 * time.Millisecond)))
	r := try("news+789@sender.example")
	if r.Code != 0 || r.QueueID() == "" {
		t.Fatalf("retry after the delay: exit %d\n%s", r.Code, r.Out)
	}
	found := false
	for _, f := range s.inbox("alice@dom.test") {
		if strings.Contains(string(f.Data), "X-Greylist: delayed ") {
			found = true
		}
	}
	if !found {
		t.Errorf("no X-Greylist field in the delivered message")
	}
	// Auto-whitelisted after one success: a new sender passes at once.
	if r := try("other@elsewhere.example"); r.Code != 0 {
		t.Fatalf("auto-whitelisted client: exit %d\n%s", r.Code, r.Out)
	}
	// Another client is still greylisted.
	r = s.swaks("--local-interface", "127.0.1.2", "--from", "other@elsewhere.example", "--to", "alice@dom.test")
	if r.Code == 0 || !strings.Contains(r.Out, greylistText("alice@dom.test")) {
		t.Fatalf("another network: exit %d\n%s", r.Code, r.Out)
	}
	s.waitLog(func(l string) bool {
		return strings.Contains(l, "]: action=greylist, reason=new") && strings.Contains(l, "client_address=127.0.0.2")
	}, "postgrey's log line for a new triplet")

	// mailwarden greylist: the triplets as stored (normalized sender),
	// the counts, a hand whitelist that a running server applies, delete.
	out := s.admin("greylist", "list", "--client", "127.0.0.0/24")
	if !regexp.MustCompile(`127\.0\.0\.0/24\s+news@sender\.example\s+alice@dom\.test\s+passed\s`).MatchString(out) {
		t.Errorf("greylist list:\n%s", out)
	}
	if out := s.admin("greylist", "list", "--state", "waiting"); !strings.Contains(out, "127.0.1.0/24") || strings.Contains(out, "127.0.0.0/24") {
		t.Errorf("greylist list --state waiting:\n%s", out)
	}
	stats := s.admin("greylist", "stats")
	for _, want := range []string{`triplets\s+2\n`, `passed\s+1\n`, `waiting \(greylisted\)\s+1\n`, `auto-whitelisted clients\s+1\n`, `database bytes \(whole file\)\s+[1-9][0-9]*\n`} {
		if !regexp.MustCompile(want).MatchString(stats) {
			t.Errorf("greylist stats: no %s in\n%s", want, stats)
		}
	}
	s.admin("greylist", "whitelist", "127.0.3.0/24", "--reason", "partner")
	if out := s.admin("greylist", "list", "--whitelist"); !strings.Contains(out, "127.0.3.0/24") || !strings.Contains(out, "partner") ||
		!strings.Contains(out, "127.0.0.2") {
		t.Errorf("greylist list --whitelist:\n%s", out)
	}
	// The server reads the hand whitelist again within seconds.
	deadline := time.Now().Add(20 * time.Second)
	for {
		r := s.swaks("--local-interface", "127.0.3.9", "--from", "x@elsewhere.example", "--to", "alice@dom.test")
		if r.Code == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a hand-whitelisted client is still greylisted:\n%s", r.Out)
		}
		time.Sleep(500 * time.Millisecond)
	}
	if out := s.admin("greylist", "delete", "--recipient", "alice@*"); !regexp.MustCompile(`^[1-9][0-9]* triplets deleted\n$`).MatchString(out) {
		t.Errorf("greylist delete: %s", out)
	}
	if out := s.admin("greylist", "list"); strings.Contains(out, "alice@dom.test") {
		t.Errorf("triplets left after delete:\n%s", out)
	}
	s.admin("greylist", "delete", "--whitelist", "127.0.0.2")
	if code, _, _ := s.cli("greylist", "delete"); code == 0 {
		t.Errorf("greylist delete without a filter succeeded")
	}
	if r := try("news@sender.example"); r.Code == 0 {
		t.Errorf("after delete and unwhitelist, the client passed:\n%s", r.Out)
	}
}

// TestGreylistDNSWL: a client on the [greylist] dnswl list (hermetic zone)
// is accepted at its first try; an unlisted one is greylisted.
func TestGreylistDNSWL(t *testing.T) {
	dns := dnstest.New(t, "3.0.0.127.list.dnswl.test. 300 A 127.0.15.1")
	s := startServer(t, options{Resolvers: []string{dns.Addr()}, Extra: []string{"", "[restrictions]",
		`recipient = ["reject_unauth_destination", "check_greylist", "permit"]`,
		"", "[greylist]", `delay = "1h"`, `dnswl = ["list.dnswl.test=127.0.[0..255].[0..3]"]`}}, oneDomain)
	r := s.swaks("--local-interface", "127.0.0.3", "--from", "a@sender.example", "--to", "alice@dom.test")
	if r.Code != 0 || r.QueueID() == "" {
		t.Fatalf("listed client: exit %d\n%s", r.Code, r.Out)
	}
	r = s.swaks("--local-interface", "127.0.1.3", "--from", "a@sender.example", "--to", "alice@dom.test")
	if r.Code == 0 || !strings.Contains(r.Out, greylistText("alice@dom.test")) {
		t.Fatalf("unlisted client: exit %d\n%s", r.Code, r.Out)
	}
	s.waitLog(func(l string) bool {
		return strings.Contains(l, "action=pass, reason=dnswl list.dnswl.test") && strings.Contains(l, "client_address=127.0.0.3")
	}, "the pass by the DNSWL in the greylist log")
}
