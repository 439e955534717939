package msgauth

import (
	"context"
	"io"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"mailwarden/internal/config"
	"mailwarden/internal/dnsx/dnstest"
	"mailwarden/internal/envelope"
	"mailwarden/internal/sqldb"
)

const dmarcZone = `
_dmarc.reject.test. TXT "v=DMARC1; p=reject; rua=mailto:agg@reject.test"
_dmarc.quar.test.   TXT "v=DMARC1; p=quarantine; sp=none"
_dmarc.half.test.   TXT "v=DMARC1; p=reject; pct=50"
_dmarc.mon.test.    TXT "v=DMARC1; p=none"
`

func dmarcMessage(from string, auth ...envelope.AuthResult) *Message {
	raw := "From: " + from + "\r\nTo: u@ours.test\r\nSubject: hi\r\n\r\nbody\r\n"
	env := &envelope.Envelope{ID: "Q1", From: "bounce@" + domainOf(from), ClientIP: netip.MustParseAddr("192.0.2.9"),
		Recipients: []envelope.Recipient{{Address: "u@ours.test"}}, Auth: auth}
	return &Message{Env: env, Inbound: true, Content: func() (io.Reader, error) { return strings.NewReader(raw), nil }}
}

func spfResult(domain, result string) envelope.AuthResult {
	return envelope.AuthResult{Method: "spf", Result: result, Props: []envelope.AuthProp{{Type: "smtp", Name: "mailfrom", Value: "bounce@" + domain}}}
}

func dkimResult(domain, result string) envelope.AuthResult {
	return envelope.AuthResult{Method: "dkim", Result: result, Props: []envelope.AuthProp{{Type: "header", Name: "d", Value: domain}, {Type: "header", Name: "s", Value: "sel"}}}
}

func TestDMARCVerifier(t *testing.T) {
	dns := dnstest.New(t, dmarcZone)
	cases := []struct {
		name    string
		m       *Message
		cfg     func(*config.DMARC)
		sample  bool
		result  string
		comment string
		action  Action
		code    int
		folder  string
	}{
		{name: "spf pass", m: dmarcMessage("a@reject.test", spfResult("reject.test", "pass")), result: "pass", comment: "p=REJECT sp=REJECT dis=NONE"},
		{name: "dkim pass", m: dmarcMessage("a@reject.test", spfResult("elsewhere.test", "pass"), dkimResult("reject.test", "pass")), result: "pass"},
		{name: "fail reject", m: dmarcMessage("a@reject.test", spfResult("reject.test", "fail")), result: "fail", comment: "p=REJECT sp=REJECT dis=REJECT", action: Reject, code: 550},
		{name: "fail quarantine", m: dmarcMessage("a@quar.test"), result: "fail", comment: "p=QUARANTINE sp=NONE dis=QUARANTINE", action: Quarantine, folder: "Junk"},
		{name: "quarantine folder", m: dmarcMessage("a@quar.test"), cfg: func(d *config.DMARC) { d.QuarantineFolder = "Spam" }, result: "fail", action: Quarantine, folder: "Spam"},
		{name: "subdomain sp=none", m: dmarcMessage("a@news.quar.test"), result: "fail", comment: "p=QUARANTINE sp=NONE dis=NONE"},
		{name: "monitor", m: dmarcMessage("a@mon.test"), result: "fail", comment: "p=NONE sp=NONE dis=NONE"},
		{name: "pct sampled in", m: dmarcMessage("a@half.test"), sample: true, result: "fail", action: Reject, code: 550},
		{name: "pct sampled out", m: dmarcMessage("a@half.test"), sample: false, result: "fail", comment: "p=REJECT sp=REJECT dis=QUARANTINE", action: Quarantine, folder: "Junk"},
		{name: "no policy", m: dmarcMessage("a@nothing.test"), result: "none"},
		{name: "not enforced", m: dmarcMessage("a@reject.test"), cfg: func(d *config.DMARC) { d.Enforce = false }, result: "fail", comment: "p=REJECT sp=REJECT dis=NONE enforce=false"},
		{name: "override none", m: dmarcMessage("a@reject.test"), cfg: func(d *config.DMARC) { d.Override = map[string]string{"reject.test": "none"} },
			result: "fail", comment: "dis=NONE override=none"},
		{name: "override reject", m: dmarcMessage("a@mon.test"), cfg: func(d *config.DMARC) { d.Override = map[string]string{"mon.test": "reject"} },
			result: "fail", action: Reject, code: 550},
		{name: "aligned temperror defers", m: dmarcMessage("a@reject.test", spfResult("reject.test", "temperror")), result: "fail", action: Defer, code: 451},
		{name: "multiple From", m: dmarcMessage("a@reject.test, b@other.test"), result: "permerror", comment: "multiple From addresses", action: Reject, code: 550},
		{name: "multiple From allowed", m: dmarcMessage("a@reject.test, b@other.test"), cfg: func(d *config.DMARC) { d.RejectMultipleFrom = false }, result: "permerror"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := config.Default()
			if c.cfg != nil {
				c.cfg(&cfg.DMARC)
			}
			DMARCSample = func(int) bool { return c.sample }
			defer func() { DMARCSample = nil }()
			v, err := newDMARC(Deps{Config: cfg, DNS: dns.Resolver()})
			if err != nil {
				t.Fatal(err)
			}
			if err := v.Verify(context.Background(), c.m); err != nil {
				t.Fatal(err)
			}
			auth := c.m.Env.Auth
			r := auth[len(auth)-1]
			if r.Method != "dmarc" || r.Result != c.result || !strings.Contains(r.Comment, c.comment) {
				t.Errorf("result %+v, want %s (%s)", r, c.result, c.comment)
			}
			if c.m.Action != c.action || c.m.Reply.Code != c.code || c.m.Folder != c.folder {
				t.Errorf("action %v reply %+v folder %q; want %v %d %q", c.m.Action, c.m.Reply, c.m.Folder, c.action, c.code, c.folder)
			}
			if c.code == 550 && c.m.Reply.Enhanced != "5.7.1" {
				t.Errorf("enhanced %q", c.m.Reply.Enhanced)
			}
		})
	}
}

func TestDMARCARCOverride(t *testing.T) {
	dns := dnstest.New(t, dmarcZone)
	cfg := config.Default()
	cfg.DMARC.ARCTrustedSealers = []string{"lists.test"}
	v, _ := newDMARC(Deps{Config: cfg, DNS: dns.Resolver()})
	for _, tc := range []struct {
		arc    ARCVerdict
		action Action
	}{
		{ARCVerdict{Result: "pass", Sealers: []string{"origin.test", "lists.test"}}, Accept},
		{ARCVerdict{Result: "pass", Sealers: []string{"lists.test", "other.test"}}, Reject}, // newest seal not trusted
		{ARCVerdict{Result: "fail", Sealers: []string{"lists.test"}}, Reject},
		{ARCVerdict{Result: "none"}, Reject},
	} {
		m := dmarcMessage("a@reject.test")
		m.ARC = tc.arc
		v.Verify(context.Background(), m)
		r := m.Env.Auth[len(m.Env.Auth)-1]
		if m.Action != tc.action {
			t.Errorf("%+v: action %v, want %v (%+v)", tc.arc, m.Action, tc.action, r)
		}
		if tc.action == Accept && (r.Prop("policy", "override") != "trusted_forwarder" || !strings.Contains(r.Comment, "arc=pass as=lists.test")) {
			t.Errorf("override not recorded: %+v", r)
		}
	}
}

// Without a resolver every lookup fails: temperror, and the message goes on.
func TestDMARCNoDNS(t *testing.T) {
	v, _ := newDMARC(Deps{Config: config.Default()})
	m := dmarcMessage("a@reject.test")
	v.Verify(context.Background(), m)
	if r := m.Env.Auth[0]; r.Result != "temperror" || m.Action != Accept {
		t.Errorf("got %+v action %v", r, m.Action)
	}
}

func TestDMARCDisabled(t *testing.T) {
	cfg := config.Default()
	cfg.DMARC.Enabled = false
	if v, err := newDMARC(Deps{Config: cfg}); v != nil || err != nil {
		t.Errorf("got %v, %v", v, err)
	}
}

// With send_reports, results for domains that publish rua= are counted
// per period; others are not recorded.
func TestDMARCRecords(t *testing.T) {
	dns := dnstest.New(t, dmarcZone)
	db, err := sqldb.Open(context.Background(), filepath.Join(t.TempDir(), "db.sqlite"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	cfg := config.Default()
	cfg.DMARC.SendReports = true
	now := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	v, _ := newDMARC(Deps{Config: cfg, DNS: dns.Resolver(), DB: db, Now: func() time.Time { return now }})
	for range 3 {
		v.Verify(context.Background(), dmarcMessage("a@reject.test", spfResult("reject.test", "pass")))
	}
	v.Verify(context.Background(), dmarcMessage("a@reject.test", dkimResult("reject.test", "fail")))
	v.Verify(context.Background(), dmarcMessage("a@quar.test"))
	rows, err := db.Read.Query(`SELECT policy_domain, spf_aligned, disposition, count, period, dkim FROM dmarc_result ORDER BY count`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []string
	for rows.Next() {
		var dom, spf, disp, dkim string
		var n, period int64
		rows.Scan(&dom, &spf, &disp, &n, &period, &dkim)
		if period != time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC).Unix() {
			t.Errorf("period %d", period)
		}
		got = append(got, dom+" "+spf+" "+disp+" "+dkim+" "+string(rune('0'+n)))
	}
	want := []string{`reject.test fail reject [{"d":"reject.test","s":"sel","r":"fail"}] 1`, `reject.test pass none [] 3`}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("rows\n%q\nwant\n%q", got, want)
	}
}

// BenchmarkDMARCVerify is the DMARC verifier on one inbound message with
// the policy cached (a warm DNS cache): the From field read from the
// message, the evaluation, the Authentication-Results entry. Reports off.
func BenchmarkDMARCVerify(b *testing.B) {
	dns := dnstest.New(b, dmarcZone)
	cfg := config.Default()
	v, err := newDMARC(Deps{Config: cfg, DNS: dns.Resolver()})
	if err != nil {
		b.Fatal(err)
	}
	auth := []envelope.AuthResult{spfResult("reject.test", "pass"), dkimResult("reject.test", "pass")}
	v.Verify(context.Background(), dmarcMessage("a@reject.test", auth...))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		m := dmarcMessage("Ann <a@reject.test>", auth...)
		if err := v.Verify(context.Background(), m); err != nil || m.Env.Auth[2].Result != "pass" {
			b.Fatalf("%v %+v", err, m.Env.Auth)
		}
	}
}
