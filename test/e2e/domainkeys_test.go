package e2e

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"mailwarden/internal/dnsx/dnstest"
)

// mailDKIMDK signs and verifies DomainKeys with Perl's Mail::DKIM (Debian
// libmail-dkim-perl), its resolver pointed at the test's DNS server.
const mailDKIMDK = `
use strict; use warnings;
use Mail::DKIM::Verifier; use Mail::DKIM::Signer; use Mail::DKIM::DkSignature; use Net::DNS;
my ($mode, $port) = (shift, shift);
Mail::DKIM::DNS::resolver(Net::DNS::Resolver->new(nameservers => ['127.0.0.1'], port => $port,
	udp_timeout => 5, tcp_timeout => 5, retry => 1, recurse => 1));
binmode STDIN; binmode STDOUT;
my $msg = do { local $/; <STDIN> };
$msg =~ s/\r?\n/\r\n/g;
if ($mode eq 'verify') {
	my $v = Mail::DKIM::Verifier->new;
	$v->PRINT($msg); $v->CLOSE;
	for my $s ($v->signatures) { print ref($s), ' ', $s->result, ' ', ($s->result_detail // ''), "\n" }
} else {
	my ($domain, $selector, $keyfile) = @ARGV;
	my $policy = sub {
		# No h=: every field below the signature is signed.
		shift->add_signature(Mail::DKIM::DkSignature->new(Algorithm => 'rsa-sha1', Method => 'nofws',
			Domain => $domain, Selector => $selector));
		return;
	};
	my $s = Mail::DKIM::Signer->new(Policy => $policy, KeyFile => $keyfile);
	$s->PRINT($msg); $s->CLOSE;
	print $s->signature->as_string, "\r\n", $msg;
}
`

func mailDKIMRun(t *testing.T, dns *dnstest.Server, msg string, args ...string) string {
	t.Helper()
	if err := exec.Command("perl", "-MMail::DKIM::DkSignature", "-e", "1").Run(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("Mail::DKIM missing: apt-get install libmail-dkim-perl (%v)", err)
		}
		t.Skipf("Mail::DKIM missing (apt-get install libmail-dkim-perl); skipping")
	}
	_, port, _ := strings.Cut(dns.Addr(), ":")
	cmd := exec.Command("perl", append([]string{"-e", mailDKIMDK, args[0], port}, args[1:]...)...)
	cmd.Stdin = strings.NewReader(msg)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("Mail::DKIM %s: %v\n%s", args[0], err, errb.String())
	}
	return out.String()
}

// TestDomainKeys: mail a user submits for a sign_domains domain reaches
// the remote MX with a DomainKey-Signature that Mail::DKIM verifies;
// inbound mail Mail::DKIM signed is domainkeys=pass in our
// Authentication-Results, and fail once its body changed.
func TestDomainKeys(t *testing.T) {
	k, port := startSink(t)
	dns := dnstest.New(t, `
remote.test. MX 10 mx.remote.test.
mx.remote.test. A 127.0.0.2
`)
	peer := newARCPeer(t, dns) // its key helper publishes RSA keys
	ourKey := peer.key("dk._domainkey.dom.test")
	theirKey := peer.key("dk._domainkey.sender.example")
	const user = "kim@dom.test"
	s := startServer(t, options{Resolvers: []string{dns.Addr()}, Extra: []string{
		"", "[outbound]", fmt.Sprintf("smtp_port = %d", port),
		"", "[domainkeys]", `sign_domains = ["dom.test"]`, fmt.Sprintf("key_file = %q", ourKey),
	}}, func(s *server) {
		s.admin("domain", "add", "dom.test")
		s.addUser(user)
		s.addUser("ann@dom.test")
	})

	t.Run("signed on submission", func(t *testing.T) {
		s := s.on(t)
		id := newMessageID("dksign")
		r := s.swaks("--server", fmt.Sprintf("127.0.0.1:%d", s.SubmissionPort), "--tls", "--auth", "PLAIN",
			"--auth-user", user, "--auth-password", "correct horse battery", "--from", user, "--to", "friend@remote.test",
			"--data", "@"+s.writeMessage(message(user, "friend@remote.test", "dk", id, "signed by us")))
		if r.Code != 0 {
			t.Fatalf("submission: exit %d\n%s", r.Code, r.Out)
		}
		var data string
		for deadline := time.Now().Add(30 * time.Second); data == "" && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			for _, m := range k.received() {
				if strings.Contains(m.Data, id) {
					data = m.Data
				}
			}
		}
		if !strings.Contains(data, "DomainKey-Signature: a=rsa-sha1; q=dns; c=nofws;") {
			t.Fatalf("the remote MX received:\n%s", data)
		}
		if got := mailDKIMRun(t, dns, data, "verify"); !strings.Contains(got, "Mail::DKIM::DkSignature pass") {
			t.Fatalf("Mail::DKIM on our signature: %s\n%s", got, data)
		}
		if got := mailDKIMRun(t, dns, strings.Replace(data, "signed by us", "signed by them", 1), "verify"); !strings.Contains(got, "DkSignature fail") {
			t.Fatalf("Mail::DKIM on our signature, body changed: %s", got)
		}
	})

	t.Run("verified inbound", func(t *testing.T) {
		s := s.on(t)
		for _, c := range []struct {
			body, change, want string
		}{
			{"signed by them", "", "domainkeys=pass header.d=sender.example header.from=bob@sender.example"},
			{"signed by them, then changed", "changed!", "domainkeys=fail (signature did not verify) header.d=sender.example"},
		} {
			id := newMessageID("dkin")
			signed := mailDKIMRun(t, dns, message("bob@sender.example", "ann@dom.test", "dk in", id, c.body), "sign", "sender.example", "dk", theirKey)
			if c.change != "" {
				signed = strings.Replace(signed, c.body, c.change, 1)
			}
			s.send("bob@sender.example", "ann@dom.test", signed, "--local-interface", "127.0.0.3")
			files := s.findMessage("ann@dom.test", id)
			if len(files) != 1 {
				t.Fatalf("%d copies", len(files))
			}
			ar := ourResults(files[0].Data, "Authentication-Results")
			if len(ar) != 1 || !strings.Contains(strings.Join(strings.Fields(ar[0]), " "), c.want) {
				t.Errorf("%s: Authentication-Results %q, want %s", c.body, ar, c.want)
			}
		}
	})
}
