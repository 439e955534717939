package e2e

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// dnsZone is the hermetic DNS both MTAs resolve through: clients
// 127.0.0.2-8 with confirmed PTR names, DNS lists (zen.example,
// zen2.example, dnswl.example, dbl.example, rhs.example, sf.example that
// fails), and sender domains with MX, null MX, no records, bad MX and NS
// hosts.
const dnsZone = `
2.0.0.127.in-addr.arpa. PTR mail.good.example.
3.0.0.127.in-addr.arpa. PTR three.client.example.
4.0.0.127.in-addr.arpa. PTR four.client.example.
5.0.0.127.in-addr.arpa. PTR five.client.example.
6.0.0.127.in-addr.arpa. PTR six.client.example.
7.0.0.127.in-addr.arpa. PTR seven.client.example.
8.0.0.127.in-addr.arpa. PTR spammy.client.example.
mail.good.example. A 127.0.0.2
three.client.example. A 127.0.0.3
four.client.example. A 127.0.0.4
five.client.example. A 127.0.0.5
six.client.example. A 127.0.0.6
seven.client.example. A 127.0.0.7
spammy.client.example. A 127.0.0.8
3.0.0.127.zen.example. A 127.0.0.2
3.0.0.127.zen.example. TXT "listed for spam, see http://zen.example/q?127.0.0.3"
4.0.0.127.zen.example. A 127.0.0.20
5.0.0.127.zen.example. A 127.0.0.4
5.0.0.127.dnswl.example. A 127.0.5.1
6.0.0.127.zen.example. A 127.0.0.10
7.0.0.127.zen2.example. A 127.0.0.2
7.0.0.127.zen2.example. TXT "zen2 says no"
spammy.client.example.rhs.example. A 127.0.0.2
good.example. MX 10 mail.good.example.
spam.example. MX 10 mail.good.example.
spam.example.dbl.example. A 127.0.1.2
spam.example.dbl.example. TXT "spam domain"
nullmx.example. MX 0 .
onlya.example. A 127.0.0.99
badmx.example. MX 10 mx.badhost.example.
mx.badhost.example. A 127.0.0.98
badns.example. A 127.0.0.97
badns.example. NS ns1.evil-ns.example.
ns1.evil-ns.example. A 127.0.0.96
listed.example. A 127.0.0.9
listed.example.dbl.example. A 127.0.1.2
`

// TestDNSRestrictionsLikePostfix: the same DNS-based restriction lists in
// a real Postfix (resolving through the hermetic zone) and in
// Mailwarden; swaks from several loopback addresses gets the same
// replies, code and text, case by case.
func TestDNSRestrictionsLikePostfix(t *testing.T) {
	dns := hermeticDNS(t, dnsZone)
	dns.ServFail("2.0.0.127.sf.example", true)
	dns.ServFail("tempfail.example", true)
	tables := tableDir(t, map[string]string{
		"rbl_reply":  "zen2.example 550 5.7.1 custom: $client_address is listed at $rbl_domain${rbl_reason?: $rbl_reason} (class $rbl_class, from $sender)\n",
		"mx_access":  "badhost.example REJECT bad mail exchanger\n",
		"ns_access":  "evil-ns.example 553 5.7.1 bad name server\n",
		"helo_names": "",
	})
	lists := map[string][]string{
		"client": {"permit_dnswl_client dnswl.example", "reject_rbl_client zen.example=127.0.0.[2..11]", "reject_rbl_client zen2.example",
			"reject_rbl_client sf.example", "reject_rhsbl_client rhs.example"},
		"helo":      {"reject_unknown_helo_hostname", "reject_rhsbl_helo dbl.example"},
		"sender":    {"reject_rhsbl_sender dbl.example", "reject_unknown_sender_domain", "check_sender_mx_access texthash:" + tables + "/mx_access", "check_sender_ns_access texthash:" + tables + "/ns_access"},
		"relay":     {"permit_mynetworks", "reject_unknown_recipient_domain", "reject_unauth_destination"},
		"recipient": {"permit"},
	}
	pfKeys := map[string]string{"client": "smtpd_client_restrictions", "helo": "smtpd_helo_restrictions", "sender": "smtpd_sender_restrictions",
		"relay": "smtpd_relay_restrictions", "recipient": "smtpd_recipient_restrictions"}
	var mainCf, toml strings.Builder
	mainCf.WriteString("mynetworks = 127.0.0.1/32\nrbl_reply_maps = texthash:" + tables + "/rbl_reply\n")
	toml.WriteString("\n[restrictions]\nrbl_reply_maps = [\"texthash:" + tables + "/rbl_reply\"]\n")
	for k, v := range lists {
		mainCf.WriteString(pfKeys[k] + " = " + strings.Join(v, ", ") + "\n")
		toml.WriteString(k + " = [\"" + strings.Join(v, "\", \"") + "\"]\n")
	}
	pf := startPostfixWithDNS(t, mainCf.String(), dns.Addr(), "ann")
	s := startServer(t, options{Resolvers: []string{dns.Addr()}, Extra: []string{toml.String()}}, func(s *server) {
		s.admin("domain", "add", "relay.test")
		s.addUser("ann@relay.test")
	})
	pfAddr := fmt.Sprintf("127.0.0.1:%d", pf.Port)
	compareRCPT(t, pfAddr, s.Addr(), []rcptCase{
		{"unlisted client, SERVFAIL list skipped", "127.0.0.2", "mail.good.example", "s@good.example", "ann@relay.test", "250 2.1.5"},
		{"DNSBL listed, TXT reason", "127.0.0.3", "mail.good.example", "s@good.example", "ann@relay.test", "blocked using zen.example; listed for spam"},
		{"DNSBL reply outside the filter", "127.0.0.4", "mail.good.example", "s@good.example", "ann@relay.test", "250 2.1.5"},
		{"DNSWL permits before the DNSBL", "127.0.0.5", "mail.good.example", "s@good.example", "ann@relay.test", "250 2.1.5"},
		{"DNSBL listed, no TXT", "127.0.0.6", "mail.good.example", "s@good.example", "ann@relay.test", "blocked using zen.example"},
		{"rbl_reply_maps template", "127.0.0.7", "mail.good.example", "s@good.example", "ann@relay.test", "custom: 127.0.0.7"},
		{"rhsbl client name", "127.0.0.8", "mail.good.example", "s@good.example", "ann@relay.test", "blocked using rhs.example"},
		{"rhsbl sender", "127.0.0.2", "mail.good.example", "s@spam.example", "ann@relay.test", "blocked using dbl.example"},
		{"rhsbl helo", "127.0.0.2", "listed.example", "s@good.example", "ann@relay.test", "blocked using dbl.example"},
		{"unknown helo hostname", "127.0.0.2", "nohost.example", "s@good.example", "ann@relay.test", "Host not found"},
		{"unknown sender domain", "127.0.0.2", "mail.good.example", "s@nowhere.example", "ann@relay.test", "Domain not found"},
		{"sender domain with only an A record", "127.0.0.2", "mail.good.example", "s@onlya.example", "ann@relay.test", "250 2.1.5"},
		{"null MX sender", "127.0.0.2", "mail.good.example", "s@nullmx.example", "ann@relay.test", "nullMX"},
		{"sender domain lookup fails", "127.0.0.2", "mail.good.example", "s@tempfail.example", "ann@relay.test", "450"},
		{"check_sender_mx_access", "127.0.0.2", "mail.good.example", "s@badmx.example", "ann@relay.test", "bad mail exchanger"},
		{"check_sender_ns_access", "127.0.0.2", "mail.good.example", "s@badns.example", "ann@relay.test", "bad name server"},
		{"unknown recipient domain", "127.0.0.2", "mail.good.example", "s@good.example", "x@nowhere.example", "Domain not found"},
		{"null MX recipient", "127.0.0.2", "mail.good.example", "s@good.example", "x@nullmx.example", "nullMX"},
	})
	s.waitLog(func(l string) bool {
		return strings.Contains(l, "NOQUEUE: reject: RCPT from three.client.example[127.0.0.3]: 554 5.7.1 Service unavailable; Client host [127.0.0.3] blocked using zen.example;")
	}, "Postfix's reject line for a DNSBL")
}

// rcptCase is one swaks conversation up to RCPT from a loopback
// address, for compareRCPT; an empty helo, from or to is
// mail.good.example, s@good.example, ann@relay.test.
type rcptCase struct {
	name, src, helo, from, to string
	want                      string // a piece of Postfix's last reply, so the case tests what it says
}

// compareRCPT sends each case to Postfix (pfAddr) and Mailwarden
// (mwAddr) and wants the same replies, code and text, from both.
func compareRCPT(t *testing.T, pfAddr, mwAddr string, cases []rcptCase) {
	t.Helper()
	or := func(s, def string) string {
		if s == "" {
			return def
		}
		return s
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			args := []string{"--local-interface", tc.src, "--helo", or(tc.helo, "mail.good.example"), "--from", or(tc.from, "s@good.example"),
				"--to", or(tc.to, "ann@relay.test"), "--quit-after", "RCPT"}
			want := swaksReplies(t, pfAddr, args)
			got := swaksReplies(t, mwAddr, args)
			if len(want) < 2 || !strings.Contains(want[len(want)-1], tc.want) {
				t.Fatalf("Postfix replied %q; the case expects %q in the last reply (the zone or main.cf is wrong)", want, tc.want)
			}
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("Mailwarden %q\n     Postfix %q", got, want)
			}
		})
	}
}

// swaksReplies runs swaks and returns the server's replies after the
// greeting and EHLO (which name each server), up to the last before
// QUIT: the replies to MAIL and RCPT.
func swaksReplies(t *testing.T, server string, args []string) []string {
	t.Helper()
	requireTool(t, "swaks")
	out, _ := exec.Command("swaks", append([]string{"--server", server, "--timeout", "30"}, args...)...).CombinedOutput()
	var replies []string
	for _, l := range strings.Split(string(out), "\n") {
		var r string
		switch {
		case strings.HasPrefix(l, "<** "):
			r = l[4:]
		case strings.HasPrefix(l, "<-  "):
			r = l[4:]
		default:
			continue
		}
		if len(r) > 3 && r[3] == '-' {
			continue // not the last line of a reply
		}
		replies = append(replies, r)
	}
	if len(replies) < 2 {
		t.Fatalf("swaks against %s: no EHLO reply:\n%s", server, out)
	}
	replies = replies[2:]
	if n := len(replies); n > 0 && strings.HasPrefix(replies[n-1], "221") {
		replies = replies[:n-1]
	}
	return replies
}

// TestPostscreenLikePostfix: [postscreen] dnsbl_sites with weights and a
// threshold, action enforce, against Postfix's own postscreen with the
// same postscreen_dnsbl_* settings: the same replies to MAIL and RCPT
// from listed and unlisted clients. Then action drop on Mailwarden: the
// 521 comes instead of the greeting.
func TestPostscreenLikePostfix(t *testing.T) {
	dns := hermeticDNS(t, dnsZone+`
3.0.0.127.bl.example. A 127.0.0.2
4.0.0.127.bl.example. A 127.0.0.2
8.0.0.127.bl.example. A 127.0.0.2
`)
	sites := []string{"zen.example=127.0.0.[2..11]*2", "bl.example"}
	pf := startPostfixWithDNS(t, "postscreen_dnsbl_sites = "+strings.Join(sites, ", ")+
		"\npostscreen_dnsbl_threshold = 2\npostscreen_dnsbl_action = enforce\npostscreen_greet_wait = 1s\npostscreen_access_list = permit_mynetworks\nmynetworks = 127.0.0.1/32\n",
		dns.Addr(), "ann")
	pf.postscreen(t)
	toml := "\n[postscreen]\ndnsbl_sites = [\"" + strings.Join(sites, "\", \"") + "\"]\ndnsbl_threshold = 2\ndnsbl_action = \"enforce\"\n"
	s := startServer(t, options{Resolvers: []string{dns.Addr()}, Extra: []string{toml}}, func(s *server) {
		s.admin("domain", "add", "relay.test")
		s.addUser("ann@relay.test")
	})
	pfAddr := fmt.Sprintf("127.0.0.1:%d", pf.Port)
	compareRCPT(t, pfAddr, s.Addr(), []rcptCase{
		{name: "listed on both", src: "127.0.0.3", want: "550 5.7.1 Service unavailable; client [127.0.0.3] blocked using zen.example"},
		{name: "heavy list's reply outside its filter, light list", src: "127.0.0.4", want: "250 2.1.5"},
		{name: "listed on the heavy list only", src: "127.0.0.5", want: "550 5.7.1 Service unavailable; client [127.0.0.5] blocked using zen.example"},
		{name: "listed on the light list only", src: "127.0.0.8", want: "250 2.1.5"},
		{name: "unlisted", src: "127.0.0.2", want: "250 2.1.5"},
	})
	s.waitLog(func(l string) bool { return strings.Contains(l, "DNSBL rank 3 for [127.0.0.3]") }, "postscreen's rank line")

	// drop: the reply postscreen gives instead of its greeting.
	s.stop()
	s.opts.Extra = []string{strings.Replace(toml, `"enforce"`, `"drop"`, 1)}
	s.writeConfig()
	s.start()
	got := greeting(t, "127.0.0.3", s.Addr())
	if got != "521 5.7.1 Service unavailable; client [127.0.0.3] blocked using zen.example" {
		t.Errorf("drop: greeting %q", got)
	}
	if got := greeting(t, "127.0.0.4", s.Addr()); !strings.HasPrefix(got, "220 ") {
		t.Errorf("drop, below the threshold: greeting %q", got)
	}
}

// greeting returns the first reply line a client at src gets.
func greeting(t *testing.T, src, addr string) string {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 10 * time.Second}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		t.Fatalf("greeting from %s: %v", addr, err)
	}
	return strings.TrimRight(line, "\r\n")
}

// postscreen puts Postfix's postscreen in front of its smtpd on the same
// port (master.cf as POSTSCREEN_README shows) and reloads.
func (p *privatePostfix) postscreen(t *testing.T) {
	t.Helper()
	mcf := filepath.Join(p.EtcDir, "master.cf")
	b, err := os.ReadFile(mcf)
	if err != nil {
		t.Fatal(err)
	}
	first := fmt.Sprintf("127.0.0.1:%d inet n - n - - smtpd\n", p.Port)
	if !strings.HasPrefix(string(b), first) {
		t.Fatalf("master.cf does not start with %q", first)
	}
	writeFile(t, mcf, fmt.Sprintf("127.0.0.1:%d inet n - n - 1 postscreen\nsmtpd pass - - n - - smtpd\ndnsblog unix - - n - 0 dnsblog\ntlsproxy unix - - n - 0 tlsproxy\n", p.Port)+
		strings.TrimPrefix(string(b), first))
	if out, err := p.run("reload"); err != nil {
		t.Fatalf("postfix reload: %v\n%s", err, out)
	}
	// The reload is asynchronous: wait until postscreen answers (its
	// greeting comes after postscreen_greet_wait).
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		time.Sleep(300 * time.Millisecond)
		if strings.Contains(p.maillog(), "postfix/postscreen") {
			return
		}
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", p.Port), time.Second)
		if err == nil {
			c.Close()
		}
	}
	t.Fatalf("postscreen did not start\n%s", p.maillog())
}

// TestSoftBounceLikePostfix: soft_bounce turns the lists' 5xx into 4xx,
// with the reply-code knobs changed, in Postfix and Mailwarden alike.
func TestSoftBounceLikePostfix(t *testing.T) {
	dns := hermeticDNS(t, dnsZone)
	knobs := map[string]string{"soft_bounce": "yes", "maps_rbl_reject_code": "550", "unknown_client_reject_code": "550", "unknown_address_reject_code": "550"}
	lists := map[string][]string{"client": {"reject_rbl_client zen.example", "reject_unknown_client_hostname"}, "sender": {"reject_unknown_sender_domain"}}
	var mainCf, toml strings.Builder
	mainCf.WriteString("mynetworks = 127.0.0.1/32\n")
	toml.WriteString("\n[restrictions]\n")
	for k, v := range knobs {
		mainCf.WriteString(k + " = " + v + "\n")
		if v == "yes" {
			v = "true"
		}
		toml.WriteString(k + " = " + v + "\n")
	}
	for k, v := range lists {
		mainCf.WriteString("smtpd_" + k + "_restrictions = " + strings.Join(v, ", ") + "\n")
		toml.WriteString(k + " = [\"" + strings.Join(v, "\", \"") + "\"]\n")
	}
	pf := startPostfixWithDNS(t, mainCf.String(), dns.Addr(), "ann")
	s := startServer(t, options{Resolvers: []string{dns.Addr()}, Extra: []string{toml.String()}}, func(s *server) {
		s.admin("domain", "add", "relay.test")
		s.addUser("ann@relay.test")
	})
	pfAddr := fmt.Sprintf("127.0.0.1:%d", pf.Port)
	compareRCPT(t, pfAddr, s.Addr(), []rcptCase{
		{name: "DNSBL", src: "127.0.0.3", from: "s@good.example", want: "450 4.7.1 Service unavailable; Client host [127.0.0.3] blocked using zen.example"},
		{name: "no client name", src: "127.0.0.9", from: "s@good.example", want: "450 4.7.25 Client host rejected: cannot find your hostname, [127.0.0.9]"},
		{name: "unknown sender domain", src: "127.0.0.2", from: "s@nowhere.example", want: "450 4.1.8 <s@nowhere.example>: Sender address rejected: Domain not found"},
		{name: "accepted", src: "127.0.0.2", from: "s@good.example", want: "250 2.1.5"},
	})
}

// TestDeadDNSLikePostfix: with a DNS server that never answers, Postfix
// and Mailwarden give the same replies: the DNSBL is skipped (with a
// warning), an unknown sender domain check defers (450 under
// defer_if_permit), and the client is "unknown" — a 4xx, never a hang,
// never a silent accept of what the lists would refuse.
func TestDeadDNSLikePostfix(t *testing.T) {
	dead := deadDNS(t)
	lists := map[string][]string{"client": {"reject_rbl_client zen.example"}, "sender": {"reject_unknown_sender_domain"}}
	var mainCf, toml strings.Builder
	mainCf.WriteString("mynetworks = 127.0.0.1/32\n")
	toml.WriteString("\n[restrictions]\n")
	for k, v := range lists {
		mainCf.WriteString("smtpd_" + k + "_restrictions = " + strings.Join(v, ", ") + "\n")
		toml.WriteString(k + " = [\"" + strings.Join(v, "\", \"") + "\"]\n")
	}
	pf := startPostfixWithDNS(t, mainCf.String(), dead, "ann")
	s := startServer(t, options{Resolvers: []string{dead}, Extra: []string{
		`timeout = "1s"`, // the first Extra line still stands in [dns]
		toml.String()}}, func(s *server) {
		s.admin("domain", "add", "relay.test")
		s.addUser("ann@relay.test")
	})
	args := []string{"--local-interface", "127.0.0.3", "--helo", "mail.good.example", "--from", "s@good.example", "--to", "ann@relay.test", "--quit-after", "RCPT"}
	want := swaksReplies(t, fmt.Sprintf("127.0.0.1:%d", pf.Port), args)
	got := swaksReplies(t, s.Addr(), args)
	if len(want) < 2 || want[1] != "450 4.1.8 <s@good.example>: Sender address rejected: Domain not found" {
		t.Fatalf("Postfix replied %q", want)
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("Mailwarden %q\n     Postfix %q", got, want)
	}
	s.waitLog(func(l string) bool { return strings.Contains(l, "3.0.0.127.zen.example: RBL lookup error:") }, "the RBL warning")
}
