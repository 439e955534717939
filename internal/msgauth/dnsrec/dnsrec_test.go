package dnsrec

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"testing"

	"mailwarden/internal/dnsx"
	"mailwarden/internal/dnsx/dnstest"
	"mailwarden/internal/msgauth/spf"
)

func TestSplitTXT(t *testing.T) {
	long := strings.Repeat("a", 300)
	got := SplitTXT(long)
	if len(got) != 2 || len(got[0]) != 257 || len(got[1]) != 47 {
		t.Errorf("split of 300 bytes: %d parts, %d and %d", len(got), len(got[0]), len(got[1]))
	}
	if got := SplitTXT(`a"b\c`); len(got) != 1 || got[0] != `"a\"b\\c"` {
		t.Errorf("escaping: %q", got)
	}
	if got := SplitTXT(""); len(got) != 1 || got[0] != `""` {
		t.Errorf("empty: %q", got)
	}
}

func TestWriteZone(t *testing.T) {
	rs := Records(Input{Domain: "Example.ORG", Hostname: "mx.example.org",
		DKIM:        []DKIMKey{{Selector: "s1", Value: "v=DKIM1; k=rsa; p=" + strings.Repeat("A", 392), State: "active"}},
		DMARCReport: "dmarc@example.org"})
	var b bytes.Buffer
	if err := WriteZone(&b, rs); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"example.org.\tIN\tMX\t10 mx.example.org.\n",
		"example.org.\tIN\tTXT\t\"v=spf1 mx -all\"\n",
		"s1._domainkey.example.org.\tIN\tTXT\t( \"v=DKIM1; k=rsa; p=AAA",
		"_dmarc.example.org.\tIN\tTXT\t\"v=DMARC1; p=none; rua=mailto:dmarc@example.org\"\n",
		"_mta-sts.example.org.\tIN\tTXT",
		"_smtp._tls.example.org.\tIN\tTXT\t\"v=TLSRPTv1; rua=mailto:tls-reports@example.org\"\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("zone lacks %q:\n%s", want, out)
		}
	}
}

func TestCheck(t *testing.T) {
	key := "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="
	rs := Records(Input{Domain: "ok.test", Hostname: "mx.ok.test", DKIM: []DKIMKey{{Selector: "s1", Value: key, State: "active"}}})
	dns := dnstest.New(t, `
ok.test. MX 10 mx.ok.test.
ok.test. TXT "v=spf1 ip4:192.0.2.1 mx -all"
ok.test. TXT "google-site-verification=x"
s1._domainkey.ok.test. TXT "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQH" "Og7hcvPapiMlrwIaaPcHURo="
_dmarc.ok.test. TXT "v=DMARC1; p=reject"
`)
	ctx := context.Background()
	sts := Check(ctx, dns.Resolver(), rs, "mx.ok.test", nil)
	for _, st := range sts {
		if !st.OK && !st.Placeholder {
			t.Errorf("%s %s: %s", st.Kind, st.Name, st.Problem)
		}
	}
	bad := dnstest.New(t, `
bad.test. MX 10 other.host.test.
bad.test. TXT "v=spf1 -all"
bad.test. TXT "v=spf1 mx -all"
s1._domainkey.bad.test. TXT "v=DKIM1; k=rsa; p=MIIBIjANBg"
`)
	rs = Records(Input{Domain: "bad.test", Hostname: "mx.bad.test", DKIM: []DKIMKey{{Selector: "s1", Value: key, State: "active"}}})
	want := map[Kind]string{MX: "no MX record names mx.bad.test", SPF: "2 v=spf1 records", DKIM: "differs", DMARC: "not published"}
	for _, st := range Check(ctx, bad.Resolver(), rs, "mx.bad.test", nil) {
		if w, ok := want[st.Kind]; ok && (st.OK || !strings.Contains(st.Problem, w)) {
			t.Errorf("%s: ok=%v problem %q, want %q", st.Kind, st.OK, st.Problem, w)
		}
	}
}

// TestCheckSPFAuthorizes: with a checker, the SPF record must let the MX
// host's addresses send for the domain.
func TestCheckSPFAuthorizes(t *testing.T) {
	dns := dnstest.New(t, `
good.test. TXT "v=spf1 mx -all"
good.test. MX 10 mx.good.test.
mx.good.test. A 192.0.2.10
bad.test. TXT "v=spf1 ip4:198.51.100.0/24 -all"
mx.bad.test. A 192.0.2.20
`)
	r := dns.Resolver()
	sc := &spf.Checker{DNS: r.(dnsx.RRLookup)}
	ctx := context.Background()
	for _, tc := range []struct {
		domain, host string
		ok           bool
		problem      string
	}{
		{"good.test", "mx.good.test", true, ""},
		{"bad.test", "mx.bad.test", false, "does not authorize 192.0.2.20 (mx.bad.test's address): fail at -all"},
		{"good.test", "gone.good.test", false, "the MX host gone.good.test: not published"},
	} {
		var st Status
		for _, s := range Check(ctx, r, Records(Input{Domain: tc.domain, Hostname: tc.host}), tc.host, sc) {
			if s.Kind == SPF {
				st = s
			}
		}
		if st.OK != tc.ok || st.Problem != tc.problem {
			t.Errorf("%s from %s: ok=%v %q, want %v %q", tc.domain, tc.host, st.OK, st.Problem, tc.ok, tc.problem)
		}
	}
	rs := Records(Input{Domain: "a.test", Hostname: "mx.a.test", DMARCReport: "reports@b.test"})
	if !slices.ContainsFunc(rs, func(r Record) bool { return r.Name == "a.test._report._dmarc.b.test." && r.Value == "v=DMARC1" }) {
		t.Errorf("no external-destination record for rua in another domain: %+v", rs)
	}
}
