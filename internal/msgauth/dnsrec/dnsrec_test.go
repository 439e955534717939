package dnsrec

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"mailwarden/internal/dnsx/dnstest"
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
	sts := Check(ctx, dns.Resolver(), rs)
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
	for _, st := range Check(ctx, bad.Resolver(), rs) {
		if w, ok := want[st.Kind]; ok && (st.OK || !strings.Contains(st.Problem, w)) {
			t.Errorf("%s: ok=%v problem %q, want %q", st.Kind, st.OK, st.Problem, w)
		}
	}
}
