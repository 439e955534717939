package e2e

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"

	"mailwarden/internal/dnsx/dnstest"
)

// dmarcZone publishes DMARC and SPF records for the sending domains of
// the DMARC tests. The clients send from 127.0.0.2, outside mynetworks,
// which no SPF record allows.
const dmarcZone = `
_dmarc.bank.example.  TXT "v=DMARC1; p=reject; rua=mailto:dmarc@e2e.test"
bank.example.         TXT "v=spf1 ip4:192.0.2.1 -all"
_dmarc.shop.example.  TXT "v=DMARC1; p=quarantine"
shop.example.         TXT "v=spf1 ip4:192.0.2.1 -all"
_dmarc.pass.example.  TXT "v=DMARC1; p=reject"
bounce.pass.example.  TXT "v=spf1 ip4:127.0.0.2 -all"
_dmarc.strict.example. TXT "v=DMARC1; p=reject; aspf=s"
bounce.strict.example. TXT "v=spf1 ip4:127.0.0.2 -all"
_dmarc.sub.example.   TXT "v=DMARC1; p=none; sp=reject"
branch.sub.example.   TXT "v=spf1 ip4:192.0.2.1 -all"
_dmarc.psd-tld.       TXT "v=DMARC1; p=reject; psd=y"
brand.psd-tld.        TXT "v=spf1 ip4:192.0.2.1 -all"
_dmarc.mid.corp.psd-tld. TXT "v=DMARC1; p=quarantine"
bounce.corp.psd-tld.  TXT "v=spf1 ip4:127.0.0.2 -all"
`

// pyIMAPFolders logs in with imaplib and lists, for each folder asked,
// the Message-IDs in it, as a user looking at the mailbox would.
const pyIMAPFolders = `
import imaplib, json, sys
req = json.load(sys.stdin)
m = imaplib.IMAP4("127.0.0.1", req["imap"])
m.starttls(ssl_context=__import__("ssl")._create_unverified_context())
m.login(req["user"], req["pass"])
out = {}
for f in req["folders"]:
    typ, n = m.select(f, readonly=True)
    ids = []
    if typ == "OK" and int(n[0]) > 0:
        typ, data = m.fetch("1:*", "(BODY.PEEK[HEADER.FIELDS (MESSAGE-ID AUTHENTICATION-RESULTS)])")
        for part in data:
            if isinstance(part, tuple):
                ids.append(part[1].decode())
    out[f] = ids
print(json.dumps(out))
`

// imapFolders returns, per folder, the header blocks (Message-ID and
// Authentication-Results) of its messages, read with Python's imaplib.
func (s *server) imapFolders(user string, folders ...string) map[string][]string {
	s.t.Helper()
	requireTool(s.t, python)
	req, _ := json.Marshal(map[string]any{"imap": s.IMAPPort, "user": user, "pass": "correct horse battery", "folders": folders})
	cmd := exec.Command(python, "-c", pyIMAPFolders)
	cmd.Stdin = strings.NewReader(string(req))
	out, err := cmd.CombinedOutput()
	if err != nil {
		s.t.Fatalf("imaplib: %v\n%s", err, out)
	}
	var got map[string][]string
	if err := json.Unmarshal(out, &got); err != nil {
		s.t.Fatalf("imaplib output %q: %v", out, err)
	}
	return got
}

func hasMessage(blocks []string, id string) bool {
	for _, b := range blocks {
		if strings.Contains(b, id) {
			return true
		}
	}
	return false
}

// TestDMARC: mail from outside whose From domain publishes p=reject and
// that passes neither SPF nor DKIM is refused in the session with 550
// 5.7.1; p=quarantine files it into the Junk folder, as a user sees it
// over IMAP; SPF passing for a MAIL FROM subdomain passes DMARC in
// relaxed mode (INBOX, dmarc=pass) and fails under aspf=s.
func TestDMARC(t *testing.T) {
	dns := hermeticDNS(t, dmarcZone)
	// SPF skips loopback clients by default (policyd-spf's
	// skip_addresses); the test clients are on loopback.
	s := startServer(t, options{Resolvers: []string{dns.Addr()}, Extra: []string{"", "[spf]", "skip_addresses = []"}}, func(s *server) {
		s.admin("domain", "add", "e2e.test")
		s.addUser("ann@e2e.test")
	})
	t.Run("reject", func(t *testing.T) {
		s := s.on(t)
		id := newMessageID("dmarc-reject")
		msg := message("ceo@bank.example", "ann@e2e.test", "wire transfer", id, "please pay")
		r := s.swaks("--from", "ceo@bank.example", "--to", "ann@e2e.test", "--data", "@"+s.writeMessage(msg),
			"--local-interface", "127.0.0.2")
		if r.Code == 0 || !strings.Contains(r.Out, "<** 550 5.7.1 ") || !strings.Contains(r.Out, "DMARC policy for bank.example") {
			t.Fatalf("swaks exit %d, want a 550 5.7.1 DMARC refusal after DATA:\n%s", r.Code, r.Out)
		}
		if len(s.findMessage("ann@e2e.test", id)) != 0 {
			t.Error("the refused message was delivered")
		}
		s.waitLog(func(log string) bool { return strings.Contains(log, "DMARC policy for bank.example") }, "the refusal in the mail log")
	})
	t.Run("quarantine", func(t *testing.T) {
		s := s.on(t)
		id := newMessageID("dmarc-quarantine")
		s.send("news@shop.example", "ann@e2e.test", message("news@shop.example", "ann@e2e.test", "sale", id, "50% off"),
			"--local-interface", "127.0.0.2")
		got := s.imapFolders("ann@e2e.test", "INBOX", "Junk")
		if hasMessage(got["INBOX"], id) || !hasMessage(got["Junk"], id) {
			t.Fatalf("want %s in Junk only, got %v", id, got)
		}
		for _, b := range got["Junk"] {
			if strings.Contains(b, id) && !strings.Contains(b, "dmarc=fail (p=QUARANTINE sp=QUARANTINE dis=QUARANTINE) header.from=shop.example") {
				t.Errorf("Authentication-Results of the quarantined message:\n%s", b)
			}
		}
	})
	t.Run("pass relaxed", func(t *testing.T) {
		s := s.on(t)
		id := newMessageID("dmarc-pass")
		s.send("list@bounce.pass.example", "ann@e2e.test", message("News <news@pass.example>", "ann@e2e.test", "news", id, "hello"),
			"--local-interface", "127.0.0.2")
		got := s.imapFolders("ann@e2e.test", "INBOX", "Junk")
		if !hasMessage(got["INBOX"], id) || hasMessage(got["Junk"], id) {
			t.Fatalf("want %s in INBOX only, got %v", id, got)
		}
		for _, b := range got["INBOX"] {
			if strings.Contains(b, id) && (!strings.Contains(b, "spf=pass") ||
				!strings.Contains(b, "dmarc=pass (p=REJECT sp=REJECT dis=NONE) header.from=pass.example")) {
				t.Errorf("Authentication-Results:\n%s", b)
			}
		}
	})
	t.Run("strict alignment fails", func(t *testing.T) {
		s := s.on(t)
		id := newMessageID("dmarc-strict")
		msg := message("news@strict.example", "ann@e2e.test", "news", id, "hello")
		r := s.swaks("--from", "list@bounce.strict.example", "--to", "ann@e2e.test", "--data", "@"+s.writeMessage(msg),
			"--local-interface", "127.0.0.2")
		if r.Code == 0 || !strings.Contains(r.Out, "<** 550 5.7.1 Rejected by DMARC policy for strict.example") {
			t.Fatalf("swaks exit %d, want 550 5.7.1 (SPF passed for a subdomain, aspf=s):\n%s", r.Code, r.Out)
		}
	})
	// sp= is the policy of subdomains (RFC 7489 6.3): p=none for
	// sub.example itself, reject for branch.sub.example.
	t.Run("subdomain policy", func(t *testing.T) {
		s := s.on(t)
		id := newMessageID("dmarc-sp")
		msg := message("ceo@branch.sub.example", "ann@e2e.test", "invoice", id, "pay now")
		r := s.swaks("--from", "ceo@branch.sub.example", "--to", "ann@e2e.test", "--data", "@"+s.writeMessage(msg),
			"--local-interface", "127.0.0.2")
		if r.Code == 0 || !strings.Contains(r.Out, "<** 550 5.7.1 Rejected by DMARC policy for branch.sub.example") {
			t.Fatalf("swaks exit %d, want 550 5.7.1 under sp=reject:\n%s", r.Code, r.Out)
		}
		id = newMessageID("dmarc-p-none")
		s.send("ceo@sub.example", "ann@e2e.test", message("ceo@sub.example", "ann@e2e.test", "hi", id, "hello"),
			"--local-interface", "127.0.0.2")
		got := s.imapFolders("ann@e2e.test", "INBOX")
		if !hasMessage(got["INBOX"], id) {
			t.Fatalf("p=none: want %s in INBOX, got %v", id, got)
		}
		for _, b := range got["INBOX"] {
			if strings.Contains(b, id) && !strings.Contains(b, "dmarc=fail (p=NONE sp=REJECT dis=NONE) header.from=sub.example") {
				t.Errorf("Authentication-Results:\n%s", b)
			}
		}
	})
	// The DMARCbis tree walk (RFC 9989 4.10): a public suffix
	// operator's psd=y record (RFC 9091) reaches a From domain that
	// publishes nothing, which the public suffix list would leave with
	// dmarc=none.
	t.Run("tree walk finds a PSD policy", func(t *testing.T) {
		s := s.on(t)
		id := newMessageID("dmarc-psd")
		msg := message("ceo@brand.psd-tld", "ann@e2e.test", "invoice", id, "pay now")
		r := s.swaks("--from", "ceo@brand.psd-tld", "--to", "ann@e2e.test", "--data", "@"+s.writeMessage(msg),
			"--local-interface", "127.0.0.2")
		if r.Code == 0 || !strings.Contains(r.Out, "<** 550 5.7.1 Rejected by DMARC policy for brand.psd-tld") {
			t.Fatalf("swaks exit %d, want 550 5.7.1 from the PSD policy:\n%s", r.Code, r.Out)
		}
	})
	// The walk takes the first record on the way up (mid.corp.psd-tld's
	// p=quarantine), and relaxed alignment uses the organizational
	// domain the walk finds (corp.psd-tld, one label below the psd=y
	// record): SPF for bounce.corp.psd-tld aligns with From
	// host.mid.corp.psd-tld.
	t.Run("tree walk alignment", func(t *testing.T) {
		s := s.on(t)
		id := newMessageID("dmarc-walk")
		s.send("list@bounce.corp.psd-tld", "ann@e2e.test", message("news@host.mid.corp.psd-tld", "ann@e2e.test", "news", id, "hello"),
			"--local-interface", "127.0.0.2")
		got := s.imapFolders("ann@e2e.test", "INBOX", "Junk")
		if !hasMessage(got["INBOX"], id) || hasMessage(got["Junk"], id) {
			t.Fatalf("want %s in INBOX only, got %v", id, got)
		}
		for _, b := range got["INBOX"] {
			if strings.Contains(b, id) && !strings.Contains(b, "dmarc=pass (p=QUARANTINE sp=QUARANTINE dis=NONE) header.from=host.mid.corp.psd-tld") {
				t.Errorf("Authentication-Results:\n%s", b)
			}
		}
	})
	t.Run("no policy", func(t *testing.T) {
		s := s.on(t)
		id := newMessageID("dmarc-none")
		s.send("a@nopolicy.example", "ann@e2e.test", message("a@nopolicy.example", "ann@e2e.test", "hi", id, "hello"),
			"--local-interface", "127.0.0.2")
		got := s.imapFolders("ann@e2e.test", "INBOX")
		if !hasMessage(got["INBOX"], id) {
			t.Fatalf("want %s in INBOX, got %v", id, got)
		}
		for _, b := range got["INBOX"] {
			if strings.Contains(b, id) && !strings.Contains(b, "dmarc=none header.from=nopolicy.example") {
				t.Errorf("Authentication-Results:\n%s", b)
			}
		}
	})
}

// TestDMARCARCOverride: mail from a p=reject domain that a mailing list
// changed (so SPF and DKIM fail) but sealed with ARC (dkimpy as the
// list's sealer) is delivered when the list is in [dmarc]
// arc_trusted_sealers, with the override in Authentication-Results, and
// refused when the sealer is not trusted.
func TestDMARCARCOverride(t *testing.T) {
	dns := dnstest.New(t, dmarcZone)
	peer := newARCPeer(t, dns)
	trustedKey := peer.key("sel._domainkey.lists.example")
	otherKey := peer.key("sel._domainkey.other.example")
	s := startServer(t, options{Resolvers: []string{dns.Addr()}, Extra: []string{"", "[dmarc]", `arc_trusted_sealers = ["lists.example"]`}},
		func(s *server) {
			s.admin("domain", "add", "e2e.test")
			s.addUser("ann@e2e.test")
		})
	sealed := func(id, sealer, key string) string {
		in := "Authentication-Results: mx." + sealer + "; dkim=pass header.d=bank.example; dmarc=pass header.from=bank.example\r\n" +
			message("ceo@bank.example", "list@"+sealer, "[list] quarterly figures", id, "posted to the list")
		return peer.run(in, "sign", "sel", sealer, key, "mx."+sealer)
	}
	t.Run("trusted sealer", func(t *testing.T) {
		s := s.on(t)
		id := newMessageID("arc-trusted")
		s.send("list-bounces@lists.example", "ann@e2e.test", sealed(id, "lists.example", trustedKey), "--local-interface", "127.0.0.3")
		files := s.findMessage("ann@e2e.test", id)
		if len(files) != 1 {
			t.Fatalf("%d copies in the mailbox", len(files))
		}
		ar := ourResults(files[0].Data, "Authentication-Results")
		if len(ar) != 1 || !strings.Contains(ar[0], "arc=pass") ||
			!strings.Contains(ar[0], "dmarc=fail (p=REJECT sp=REJECT dis=NONE arc=pass as=lists.example) header.from=bank.example policy.override=trusted_forwarder") {
			t.Fatalf("Authentication-Results %q", ar)
		}
	})
	t.Run("untrusted sealer", func(t *testing.T) {
		s := s.on(t)
		id := newMessageID("arc-untrusted")
		r := s.swaks("--from", "list-bounces@other.example", "--to", "ann@e2e.test", "--data", "@"+s.writeMessage(sealed(id, "other.example", otherKey)),
			"--local-interface", "127.0.0.3")
		if r.Code == 0 || !strings.Contains(r.Out, "<** 550 5.7.1 Rejected by DMARC policy for bank.example") {
			t.Fatalf("swaks exit %d, want 550 5.7.1:\n%s", r.Code, r.Out)
		}
	})
}

// TestDMARCTempError: with a DNS server that never answers, the policy
// lookup times out within [dns] timeout and the message is delivered
// with dmarc=temperror: no hang, and no refusal for a policy nobody
// could read.
func TestDMARCTempError(t *testing.T) {
	dead := deadDNS(t)
	s := startServer(t, options{Resolvers: []string{dead}, Extra: []string{`timeout = "1s"`}}, func(s *server) {
		s.admin("domain", "add", "e2e.test")
		s.addUser("ann@e2e.test")
	})
	id := newMessageID("dmarc-temp")
	s.send("ceo@bank.example", "ann@e2e.test", message("ceo@bank.example", "ann@e2e.test", "hi", id, "hello"), "--local-interface", "127.0.0.2")
	files := s.findMessage("ann@e2e.test", id)
	if len(files) != 1 {
		t.Fatalf("%d copies", len(files))
	}
	if ar := ourResults(files[0].Data, "Authentication-Results"); len(ar) != 1 || !strings.Contains(ar[0], "dmarc=temperror header.from=bank.example") {
		t.Errorf("Authentication-Results %q", ar)
	}
}
