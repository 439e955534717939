package e2e

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"mailwarden/internal/envelope"
	"mailwarden/internal/policy"
)

// spfZone: sender domains for each SPF result from client 127.0.0.2
// (mail.spf.example), and HELO names that pass and fail.
const spfZone = `
2.0.0.127.in-addr.arpa. PTR mail.spf.example.
mail.spf.example. A 127.0.0.2
mail.spf.example. TXT "v=spf1 a -all"
badhelo.example. TXT "v=spf1 -all"
pass.example. TXT "v=spf1 ip4:127.0.0.0/29 -all"
fail.example. TXT "v=spf1 ip4:192.0.2.1 -all"
exp.example. TXT "v=spf1 -all exp=why.exp.example"
why.exp.example. TXT "%{i} is not a mail server of %{d}"
soft.example. TXT "v=spf1 ~all"
neutral.example. TXT "v=spf1 ?all"
perm.example. TXT "v=spf1 ip4:127.0.0.2 bogus -all"
nospf.example. MX 10 mail.spf.example.
`

// spfServer is Mailwarden with check_spf after reject_unauth_destination
// and policyd-spf's defaults but TempError_Defer = True, loopback
// clients checked; ann@relay.test is local.
func spfServer(t *testing.T, resolver string, extra ...string) *server {
	t.Helper()
	conf := append([]string{`timeout = "1s"`, "", "[spf]", "skip_addresses = []", "temperror_defer = true", `lookup_time = "4s"`}, extra...)
	conf = append(conf, "", "[restrictions]", `relay = ["reject_unauth_destination"]`, `recipient = ["check_spf"]`)
	return startServer(t, options{Resolvers: []string{resolver}, Extra: []string{strings.Join(conf, "\n")}}, func(s *server) {
		s.admin("domain", "add", "relay.test")
		s.addUser("ann@relay.test")
	})
}

// TestSPFEndToEnd: swaks from 127.0.0.2 with hermetic DNS — pass and
// softfail delivered with Received-SPF, fail refused by check_spf with
// the exp= text, permerror let through as policyd-spf does by default,
// temperror (a dead resolver) deferred.
func TestSPFEndToEnd(t *testing.T) {
	dns := hermeticDNS(t, spfZone)
	s := spfServer(t, dns.Addr())
	for _, tc := range []struct {
		name, helo, from string
		want             string // the RCPT reply's start
	}{
		{"pass", "mail.spf.example", "s@pass.example", "250 2.1.5"},
		{"fail with exp=", "mail.spf.example", "s@exp.example", "550 5.7.23 Message rejected due to: 127.0.0.2 is not a mail server of exp.example. Please see http://www.openspf.net/Why?s=mfrom;id=s@exp.example;ip=127.0.0.2;r=relay.test"},
		{"fail", "mail.spf.example", "s@fail.example", "550 5.7.23 Message rejected due to: SPF fail - not authorized. Please see"},
		{"HELO fail", "badhelo.example", "s@pass.example", "550 5.7.23 Message rejected due to: SPF fail - not authorized. Please see http://www.openspf.net/Why?s=helo;id=badhelo.example;"},
		{"softfail", "mail.spf.example", "s@soft.example", "250 2.1.5"},
		{"permerror", "mail.spf.example", "s@perm.example", "250 2.1.5"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := swaksReplies(t, s.Addr(), []string{"--local-interface", "127.0.0.2", "--helo", tc.helo, "--from", tc.from,
				"--to", "ann@relay.test", "--quit-after", "RCPT"})
			if len(got) != 2 || !strings.HasPrefix(got[1], tc.want) {
				t.Errorf("replies %q, want the RCPT reply to start %q", got, tc.want)
			}
		})
	}
	// Delivered messages carry Received-SPF on top, above our Received.
	for _, tc := range []struct{ from, result, want string }{
		{"s@pass.example", "pass", "Received-SPF: Pass (mailfrom) identity=mailfrom; client-ip=127.0.0.2; helo=mail.spf.example; envelope-from=s@pass.example; receiver=relay.test "},
		{"s@soft.example", "softfail", "Received-SPF: Softfail (mailfrom) identity=mailfrom; client-ip=127.0.0.2; helo=mail.spf.example; envelope-from=s@soft.example; receiver=relay.test "},
		{"s@perm.example", "permerror", "Received-SPF: Permerror (mailfrom) identity=mailfrom; client-ip=127.0.0.2; helo=mail.spf.example; envelope-from=s@perm.example; receiver=relay.test "},
		{"s@nospf.example", "none", "Received-SPF: Pass (sender SPF authorized) identity=helo; client-ip=127.0.0.2; helo=mail.spf.example; envelope-from=s@nospf.example; receiver=relay.test "},
	} {
		id := newMessageID("spf")
		s.send(tc.from, "ann@relay.test", message(tc.from, "ann@relay.test", "spf", id, "hello\n"),
			"--local-interface", "127.0.0.2", "--helo", "mail.spf.example")
		files := s.findMessage("ann@relay.test", id)
		if len(files) != 1 {
			t.Fatalf("%s: %d copies delivered", tc.from, len(files))
		}
		lines := spfHeader(files[0].Data)
		received := slices.IndexFunc(lines, func(l string) bool { return strings.HasPrefix(l, "Received: from mail.spf.example") })
		if len(lines) < 2 || lines[0] != tc.want || received < 1 {
			t.Errorf("%s: header starts %q, want %q above our Received", tc.from, lines[:min(3, len(lines))], tc.want)
		}
		// The results are in Authentication-Results too, MAIL FROM first.
		ar := strings.Join(strings.Fields(files[0].Headers.Get("Authentication-Results")), " ")
		domain := tc.from[strings.IndexByte(tc.from, '@')+1:]
		mf, helo := strings.Index(ar, "spf="+tc.result+" "), strings.Index(ar, "smtp.helo=mail.spf.example")
		if mf < 0 || helo < mf || !strings.Contains(ar[mf:], "smtp.mailfrom="+domain) {
			t.Errorf("%s: Authentication-Results %q, want spf=%s ... smtp.mailfrom=%s before smtp.helo", tc.from, ar, tc.result, domain)
		}
	}

	// A dead resolver: TempError, deferred (temperror_defer), quickly.
	dead := spfServer(t, deadDNS(t))
	got := swaksReplies(t, dead.Addr(), []string{"--local-interface", "127.0.0.2", "--helo", "mail.spf.example", "--from", "s@pass.example",
		"--to", "ann@relay.test", "--quit-after", "RCPT"})
	if len(got) != 2 || !strings.HasPrefix(got[1], "450 4.7.24 Message deferred due to: SPF Temporary Error: ") {
		t.Errorf("dead DNS: replies %q, want 450 4.7.24", got)
	}
}

// TestSPFGreylistBypass: an SPF pass skips greylisting; a softfail is
// greylisted.
func TestSPFGreylistBypass(t *testing.T) {
	dns := hermeticDNS(t, spfZone)
	s := startServer(t, options{Resolvers: []string{dns.Addr()}, Extra: []string{strings.Join([]string{
		"", "[spf]", "skip_addresses = []",
		"", "[greylist]", `delay = "5m"`,
		"", "[restrictions]", `relay = ["reject_unauth_destination"]`, `recipient = ["check_greylist"]`}, "\n")}},
		func(s *server) {
			s.admin("domain", "add", "relay.test")
			s.addUser("ann@relay.test")
		})
	args := func(from string) []string {
		return []string{"--local-interface", "127.0.0.2", "--helo", "mail.spf.example", "--from", from, "--to", "ann@relay.test", "--quit-after", "RCPT"}
	}
	if got := swaksReplies(t, s.Addr(), args("s@pass.example")); len(got) != 2 || !strings.HasPrefix(got[1], "250") {
		t.Errorf("SPF pass: %q, want 250 at the first try", got)
	}
	if got := swaksReplies(t, s.Addr(), args("s@soft.example")); len(got) != 2 || !strings.HasPrefix(got[1], "450") {
		t.Errorf("SPF softfail: %q, want greylisted (450)", got)
	}
}

// TestSPFLikePolicydSPF: the same transactions judged by the real
// policyd-spf (Debian postfix-policyd-spf-python, fed Postfix policy
// requests on stdin, resolving through the hermetic DNS in a private
// mount namespace), by Mailwarden's check_spf in the SMTP server and by
// `mailwarden policyd --restriction check_spf`: the same refusals, code
// and text, the same deferrals, and for what is accepted the same
// Received-SPF field policyd-spf asks Postfix to prepend.
func TestSPFLikePolicydSPF(t *testing.T) {
	requireTool(t, "policyd-spf")
	dns := hermeticDNS(t, spfZone)
	dns.ServFail("temp.example", true)
	s := spfServer(t, dns.Addr())
	pd := startPolicydSPF(t, dns.Addr(), "HELO_reject = Fail\nMail_From_reject = Fail\nPermError_reject = False\nTempError_Defer = True\n")
	// mailwarden policyd with check_spf, the same decisions for Postfix.
	mwpd := startPolicyd(t, s, "--restriction", "check_spf")
	client := policy.NewPolicyClient("tcp", "127.0.0.1:"+strconv.Itoa(mwpd.Port), "policyd", policy.PolicyServiceSettings{Timeout: 30 * time.Second,
		MaxIdle: time.Minute, MaxTTL: time.Hour, TryLimit: 1, RetryDelay: time.Second, MaxConnections: 1})
	defer client.Close()
	for i, tc := range []struct{ name, helo, from string }{
		{"pass", "mail.spf.example", "s@pass.example"},
		{"fail", "mail.spf.example", "s@fail.example"},
		{"fail with exp=", "mail.spf.example", "s@exp.example"},
		{"HELO fail", "badhelo.example", "s@pass.example"},
		{"null sender, HELO pass", "mail.spf.example", ""},
		{"null sender, HELO fail", "badhelo.example", ""},
		{"softfail", "mail.spf.example", "s@soft.example"},
		{"neutral", "mail.spf.example", "s@neutral.example"},
		{"permerror", "mail.spf.example", "s@perm.example"},
		{"none: the HELO result", "mail.spf.example", "s@nospf.example"},
		{"temperror", "mail.spf.example", "s@temp.example"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			action := pd.query(t, map[string]string{"request": "smtpd_access_policy", "protocol_state": "RCPT", "protocol_name": "ESMTP",
				"client_address": "127.0.0.2", "client_name": "mail.spf.example", "helo_name": tc.helo, "sender": tc.from,
				"recipient": "ann@relay.test", "instance": fmt.Sprintf("e2e.%d", i)})
			mwAction, err := client.Query(context.Background(), policy.RequestAttrs(&policy.Request{Stage: policy.Rcpt, Sender: tc.from,
				Recipient: "ann@relay.test", Instance: fmt.Sprintf("mw.%d", i), Env: &envelope.Envelope{ClientIP: netip.MustParseAddr("127.0.0.2"),
					ClientHost: "mail.spf.example", Helo: tc.helo, Protocol: "ESMTP"}}, ""))
			if err != nil {
				t.Fatalf("mailwarden policyd: %v", err)
			}
			got := swaksReplies(t, s.Addr(), []string{"--local-interface", "127.0.0.2", "--helo", tc.helo, "--from", or(tc.from, "<>"),
				"--to", "ann@relay.test", "--quit-after", "RCPT"})
			if len(got) != 2 {
				t.Fatalf("Mailwarden replied %q", got)
			}
			rcpt := got[1]
			switch verb, rest, _ := strings.Cut(action, " "); verb {
			case "550":
				if want := "550 " + rest; rcpt != want || mwAction != action {
					t.Errorf("Mailwarden %q\npolicyd-spf %q\nmailwarden policyd %q", rcpt, want, mwAction)
				}
			case "defer_if_permit":
				// The texts carry each resolver's own error words.
				code, _, _ := strings.Cut(rest, " ")
				if !strings.HasPrefix(rcpt, "450 "+code+" Message deferred due to: SPF Temporary Error: ") ||
					!strings.HasPrefix(mwAction, "DEFER_IF_PERMIT "+code+" Message deferred due to: SPF Temporary Error: ") {
					t.Errorf("Mailwarden %q\npolicyd-spf %q\nmailwarden policyd %q", rcpt, action, mwAction)
				}
			case "prepend":
				// mailwarden policyd asks Postfix to prepend the same
				// field, once per transaction as policyd-spf does; the
				// SMTP server writes it itself (below).
				if mwAction != "PREPEND "+rest {
					t.Errorf("mailwarden policyd %q\npolicyd-spf         %q", mwAction, action)
				}
				second := pd.query(t, map[string]string{"request": "smtpd_access_policy", "protocol_state": "RCPT", "protocol_name": "ESMTP",
					"client_address": "127.0.0.2", "client_name": "mail.spf.example", "helo_name": tc.helo, "sender": tc.from,
					"recipient": "bob@relay.test", "instance": fmt.Sprintf("e2e.%d", i)})
				mwSecond, err := client.Query(context.Background(), policy.RequestAttrs(&policy.Request{Stage: policy.Rcpt, Sender: tc.from,
					Recipient: "bob@relay.test", Instance: fmt.Sprintf("mw.%d", i), Env: &envelope.Envelope{ClientIP: netip.MustParseAddr("127.0.0.2"),
						ClientHost: "mail.spf.example", Helo: tc.helo, Protocol: "ESMTP"}}, ""))
				if err != nil || strings.ToUpper(second) != mwSecond {
					t.Errorf("second recipient: mailwarden policyd %q (%v), policyd-spf %q", mwSecond, err, second)
				}
				if !strings.HasPrefix(rcpt, "250") {
					t.Fatalf("Mailwarden %q, policyd-spf accepts (%q)", rcpt, action)
				}
				id := newMessageID("spfcmp")
				s.send(or(tc.from, "<>"), "ann@relay.test", message(or(tc.from, "mailer-daemon@x.example"), "ann@relay.test", "spf", id, "hi\n"),
					"--local-interface", "127.0.0.2", "--helo", tc.helo)
				files := s.findMessage("ann@relay.test", id)
				if len(files) != 1 {
					t.Fatalf("%d copies delivered", len(files))
				}
				if first := spfHeader(files[0].Data)[0]; first != rest {
					t.Errorf("Mailwarden's field %q\npolicyd-spf prepends %q", first, rest)
				}
			default:
				t.Fatalf("policyd-spf answered %q", action)
			}
		})
	}
}

// spfHeader is the header as the SMTP server wrote it: without the
// Return-Path and Delivered-To local delivery puts on top.
// spfHeader is the delivered header from the first field Mailwarden
// adds after delivery's Return-Path and Delivered-To, our
// Authentication-Results skipped: it stands on top, as OpenDKIM's does
// above policyd-spf's Received-SPF in a Postfix stack.
func spfHeader(data []byte) []string {
	lines := headerLines(data)
	for len(lines) > 1 && (strings.HasPrefix(lines[0], "Return-Path:") || strings.HasPrefix(lines[0], "Delivered-To:")) {
		lines = lines[1:]
	}
	if len(lines) > 1 && strings.HasPrefix(lines[0], "Authentication-Results: mx.test.example;") {
		lines = lines[1:]
		for len(lines) > 1 && (strings.HasPrefix(lines[0], "\t") || strings.HasPrefix(lines[0], " ")) {
			lines = lines[1:]
		}
	}
	return lines
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// policydSPF is a running policyd-spf reading policy requests on stdin.
type policydSPF struct {
	in  io.Writer
	out *bufio.Reader
}

// startPolicydSPF runs policyd-spf with conf (policyd-spf.conf lines)
// in a private mount namespace whose /etc/resolv.conf names only dnsAddr
// (pyspf reads it; the real file is never touched).
func startPolicydSPF(t *testing.T, dnsAddr, conf string) *policydSPF {
	t.Helper()
	requireTool(t, "unshare")
	if os.Geteuid() != 0 {
		t.Skip("a private mount namespace needs root")
	}
	host, _, _ := strings.Cut(dnsAddr, ":")
	dir := t.TempDir()
	resolv := filepath.Join(dir, "resolv.conf")
	writeFile(t, resolv, "nameserver "+host+"\noptions attempts:1 timeout:2\n")
	cf := filepath.Join(dir, "policyd-spf.conf")
	// skip_addresses must not cover the loopback test client.
	writeFile(t, cf, "debugLevel = 1\nTestOnly = 1\nskip_addresses = 192.0.2.0/24\nLookup_Time = 10\n"+conf)
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, "unshare", "--mount", "--propagation", "private", "sh", "-c",
		`mount --bind "$0" /etc/resolv.conf && exec "$@"`, resolv, "policyd-spf", cf)
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		in.Close()
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cancel()
			<-done
		}
		cancel()
		if t.Failed() {
			t.Logf("policyd-spf stderr:\n%s", stderr.String())
		}
	})
	return &policydSPF{in: in, out: bufio.NewReader(out)}
}

// query sends one request and returns the action ("prepend Received-SPF:
// ...", "550 5.7.23 ...", "defer_if_permit 4.7.24 ...", "dunno").
func (p *policydSPF) query(t *testing.T, attrs map[string]string) string {
	t.Helper()
	var b strings.Builder
	for k, v := range attrs {
		b.WriteString(k + "=" + v + "\n")
	}
	b.WriteString("\n")
	if _, err := io.WriteString(p.in, b.String()); err != nil {
		t.Fatalf("policyd-spf: %v", err)
	}
	type res struct {
		line string
		err  error
	}
	ch := make(chan res, 1)
	go func() {
		var action string
		for {
			l, err := p.out.ReadString('\n')
			if err != nil {
				ch <- res{action, err}
				return
			}
			l = strings.TrimSuffix(l, "\n")
			if l == "" {
				ch <- res{action, nil}
				return
			}
			if a, ok := strings.CutPrefix(l, "action="); ok {
				action = a
			}
		}
	}()
	select {
	case r := <-ch:
		if r.err != nil || r.line == "" {
			t.Fatalf("policyd-spf: action %q, %v", r.line, r.err)
		}
		return r.line
	case <-time.After(60 * time.Second):
		t.Fatal("policyd-spf did not answer within 60s")
	}
	return ""
}
