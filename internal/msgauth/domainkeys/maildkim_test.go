package domainkeys

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"mailwarden/internal/dnsx/dnstest"
)

// Mail::DKIM (Debian libmail-dkim-perl) signs and verifies DomainKeys;
// its resolver is pointed at a DNS server in this test.
const mailDKIMScript = `
use strict; use warnings;
use Mail::DKIM::Verifier; use Mail::DKIM::Signer; use Mail::DKIM::DkSignature; use Net::DNS;
my ($mode, $port) = (shift, shift);
Mail::DKIM::DNS::resolver(Net::DNS::Resolver->new(nameservers => ['127.0.0.1'], port => $port,
	udp_timeout => 5, tcp_timeout => 5, retry => 1, recurse => 1));
binmode STDIN; binmode STDOUT;
my $msg = do { local $/; <STDIN> };
if ($mode eq 'verify') {
	my $v = Mail::DKIM::Verifier->new;
	$v->PRINT($msg); $v->CLOSE;
	for my $s ($v->signatures) { print $s->result, ' ', ($s->result_detail // ''), "\n" }
} else {
	my ($domain, $selector, $keyfile, $method) = @ARGV;
	my $policy = sub {
		my $d = shift;
		$d->add_signature(Mail::DKIM::DkSignature->new(Algorithm => 'rsa-sha1', Method => $method,
			Headers => $d->headers, Domain => $domain, Selector => $selector));
		return;
	};
	my $s = Mail::DKIM::Signer->new(Policy => $policy, KeyFile => $keyfile);
	$s->PRINT($msg); $s->CLOSE;
	print $s->signature->as_string, "\r\n", $msg;
}
`

func mailDKIM(t *testing.T, dns *dnstest.Server, msg string, args ...string) string {
	t.Helper()
	if err := exec.Command("perl", "-MMail::DKIM::DkSignature", "-e", "1").Run(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("Mail::DKIM missing (Debian libmail-dkim-perl): %v", err)
		}
		t.Skipf("Mail::DKIM missing (Debian libmail-dkim-perl): %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, port, _ := strings.Cut(dns.Addr(), "127.0.0.1:")
	cmd := exec.CommandContext(ctx, "perl", append([]string{"-e", mailDKIMScript, args[0], port}, args[1:]...)...)
	cmd.Stdin = strings.NewReader(msg)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("Mail::DKIM %s: %v\n%s", args[0], err, errb.String())
	}
	return out.String()
}

func TestMailDKIMInterop(t *testing.T) {
	dns := dnstest.New(t, "")
	dns.TXT("dk._domainkey.a.example", record(""))
	lookup := dns.Resolver().LookupTXT
	keyFile := filepath.Join(t.TempDir(), "key.pem")
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(rsaKey())}), 0o600); err != nil {
		t.Fatal(err)
	}
	ours := func(msg string) Result {
		t.Helper()
		rs, err := (&Verifier{Lookup: lookup}).Verify(context.Background(), strings.NewReader(msg))
		if err != nil || len(rs) != 1 {
			t.Fatalf("Verify: %+v, %v", rs, err)
		}
		return rs[0]
	}
	for _, canon := range []string{Simple, NoFWS} {
		// We sign, Mail::DKIM verifies.
		signed := sign(t, testMsg, canon, "a.example")
		if got := mailDKIM(t, dns, signed, "verify"); !strings.HasPrefix(got, "pass") {
			t.Fatalf("Mail::DKIM on our %s signature: %s\n%s", canon, got, signed)
		}
		if got := mailDKIM(t, dns, strings.Replace(signed, "see you.", "see you!", 1), "verify"); !strings.HasPrefix(got, "fail") {
			t.Fatalf("Mail::DKIM on our %s signature, body changed: %s", canon, got)
		}
		// Mail::DKIM signs, we verify.
		theirs := mailDKIM(t, dns, testMsg, "sign", "a.example", "dk", keyFile, canon)
		if !strings.HasPrefix(theirs, "DomainKey-Signature:") {
			t.Fatalf("Mail::DKIM signed:\n%s", theirs)
		}
		if r := ours(theirs); r.Status != "pass" {
			t.Fatalf("our verdict on Mail::DKIM's %s signature: %+v\n%s", canon, r, theirs)
		}
		if r := ours(strings.Replace(theirs, "see you.", "see you!", 1)); r.Status != "fail" {
			t.Fatalf("our verdict on Mail::DKIM's %s signature, body changed: %+v", canon, r)
		}
	}
}
