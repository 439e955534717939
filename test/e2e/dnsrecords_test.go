package e2e

import (
	"strings"
	"testing"

	"github.com/miekg/dns"
)

// TestDNSRecords: `mailwarden dns DOMAIN` prints a zone a DNS server
// loads as it is (parsed here with miekg/dns's master-file parser, BIND
// syntax with its multi-line TXT); published, `dns --check` finds every
// record right, the SPF record authorizing the MX host's address; a
// missing DKIM key and a second SPF record make it fail with what to
// publish.
func TestDNSRecords(t *testing.T) {
	srv := hermeticDNS(t, "mx.test.example. A 127.0.0.1\n")
	s := startServer(t, options{Resolvers: []string{srv.Addr()}, Extra: []string{"", "[dmarc]", `report_mailbox = "dmarc@reports.test"`}}, func(s *server) {
		s.admin("domain", "add", "pub.test")
		s.admin("domain", "add", "reports.test")
		s.addUser("dmarc@reports.test")
	})
	if code, out, _ := s.cli("dns", "pub.test"); code != 0 || !strings.Contains(out, "no DKIM key for pub.test yet") {
		t.Errorf("dns without a key: exit %d\n%s", code, out)
	}
	s.admin("dkim", "keygen", "pub.test", "--algo", "rsa2048", "--selector", "k1")
	zone := s.admin("dns", "pub.test")
	for _, want := range []string{
		"pub.test.\tIN\tMX\t10 mx.test.example.\n",
		"pub.test.\tIN\tTXT\t\"v=spf1 mx -all\"\n",
		"k1._domainkey.pub.test.\tIN\tTXT\t( \"v=DKIM1; k=rsa; p=",
		"_dmarc.pub.test.\tIN\tTXT\t\"v=DMARC1; p=none; rua=mailto:dmarc@reports.test\"\n",
		"pub.test._report._dmarc.reports.test.\tIN\tTXT\t\"v=DMARC1\"\n",
	} {
		if !strings.Contains(zone, want) {
			t.Errorf("dns pub.test lacks %q:\n%s", want, zone)
		}
	}
	if code, out, _ := s.cli("dns", "pub.test", "--check"); code != 1 || !strings.Contains(out, "MX       WRONG    pub.test. MX: not published") {
		t.Errorf("nothing published: exit %d, want 1\n%s", code, out)
	}
	// Publish the zone as printed.
	zp := dns.NewZoneParser(strings.NewReader(zone), "", "")
	n := 0
	for rr, ok := zp.Next(); ok; rr, ok = zp.Next() {
		srv.Add(rr)
		n++
	}
	if err := zp.Err(); err != nil || n != 7 {
		t.Fatalf("the printed zone: %d records, %v\n%s", n, err, zone)
	}
	code, out, _ := s.cli("dns", "pub.test", "--check")
	if code != 0 || strings.Count(out, " ok ") != 7 {
		t.Fatalf("published as printed: exit %d, want 0 and 7 ok\n%s", code, out)
	}
	// The key withdrawn and a second SPF record: both found wrong.
	srv.Remove("k1._domainkey.pub.test")
	srv.Zone(`pub.test. TXT "v=spf1 a -all"`)
	code, out, _ = s.cli("dns", "pub.test", "--check")
	if code != 1 || !strings.Contains(out, "DKIM     WRONG    k1._domainkey.pub.test. TXT: not published") ||
		!strings.Contains(out, "SPF      WRONG    pub.test. TXT: 2 v=spf1 records") || !strings.Contains(out, "publish: k1._domainkey.pub.test. IN TXT \"v=DKIM1") {
		t.Errorf("after withdrawing: exit %d, want 1\n%s", code, out)
	}
}
