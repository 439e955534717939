package policy

import (
	"context"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"mailwarden/internal/config"
	"mailwarden/internal/directory"
	"mailwarden/internal/dnsx"
	"mailwarden/internal/dnsx/dnstest"
	"mailwarden/internal/envelope"
)

func TestParseFilter(t *testing.T) {
	for _, tc := range []struct {
		filter string
		ok     bool
		match  []string
		miss   []string
	}{
		{"127.0.0.2", true, []string{"127.0.0.2"}, []string{"127.0.0.3", "127.0.1.2"}},
		{"127.0.0.[2..11]", true, []string{"127.0.0.2", "127.0.0.11", "127.0.0.5"}, []string{"127.0.0.1", "127.0.0.12"}},
		{"127.0.[0;1].[2;4..5]", true, []string{"127.0.1.2", "127.0.0.4", "127.0.0.5"}, []string{"127.0.2.2", "127.0.0.3"}},
		{"127.[0..255].[0..255].[0..255]", true, []string{"127.9.9.9"}, []string{"128.0.0.1"}},
		{"127.0.0", false, nil, nil},
		{"127.0.0.256", false, nil, nil},
		{"127.0.0.[5..2]", false, nil, nil},
		{"127.0.0.[2..", false, nil, nil},
		{"127.0.0.2.", false, nil, nil},
		{"127.0.0.[]", false, nil, nil},
		{"a.b.c.d", false, nil, nil},
	} {
		f, err := parseFilter(tc.filter)
		if (err == nil) != tc.ok {
			t.Errorf("parseFilter(%q) err = %v, want ok=%v", tc.filter, err, tc.ok)
			continue
		}
		for _, a := range tc.match {
			if !f.match(netip.MustParseAddr(a)) {
				t.Errorf("%s does not match %s", tc.filter, a)
			}
		}
		for _, a := range tc.miss {
			if f.match(netip.MustParseAddr(a)) {
				t.Errorf("%s matches %s", tc.filter, a)
			}
		}
	}
	if !(replyFilter{}).match(netip.MustParseAddr("10.1.2.3")) {
		t.Error("no filter must match anything")
	}
}

func TestParseDNSList(t *testing.T) {
	for _, tc := range []struct {
		in      string
		weights bool
		domain  string
		weight  int
		ok      bool
	}{
		{"zen.example", false, "zen.example", 1, true},
		{"ZEN.example.=127.0.0.2", false, "zen.example", 1, true},
		{"zen.example*3", true, "zen.example", 3, true},
		{"list.example=127.0.0.[2..4]*-2", true, "list.example", -2, true},
		{"zen.example*x", true, "", 0, false},
		{"bad domain", false, "", 0, false},
		{"=127.0.0.2", false, "", 0, false},
	} {
		d, err := parseDNSList(tc.in, tc.weights)
		if (err == nil) != tc.ok || tc.ok && (d.Domain != tc.domain || d.Weight != tc.weight) {
			t.Errorf("parseDNSList(%q) = %+v, %v", tc.in, d, err)
		}
	}
}

func TestExpandTemplate(t *testing.T) {
	vars := func(n string) string {
		return map[string]string{"a": "A", "empty": "", "rbl_reason": "why", "rbl_code": "554"}[n]
	}
	for _, tc := range []struct {
		tpl, want string
		ok        bool
	}{
		{"plain", "plain", true},
		{"$a ${a} $(a) $$a", "A A A $a", true},
		{"x${rbl_reason?; $rbl_reason}", "x; why", true},
		{"x${empty?; $empty}", "x", true},
		{"x${empty:none}", "xnone", true},
		{"x${a:none}", "x", true},
		{"${a?{yes}:{no}} ${empty?{yes}:{no}}", "yes no", true},
		{"${a?{nested ${a}}}", "nested A", true},
		{"$unknown.", ".", true},
		{"${a", "", false},
		{"$", "", false},
		{"${}", "", false},
		{"${a!x}", "", false},
		{"$-", "", false},
		{"${a?{x}junk}", "", false},
	} {
		got, err := expandTemplate(tc.tpl, vars)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("expandTemplate(%q) = %q, %v; want %q ok=%v", tc.tpl, got, err, tc.want, tc.ok)
		}
	}
}

func TestParseReply(t *testing.T) {
	for _, tc := range []struct {
		in, code, enh, text string
		ok                  bool
	}{
		{"554 Service unavailable; x", "554", "5.7.1", "Service unavailable; x", true},
		{"450 4.7.0 later", "450", "4.7.0", "later", true},
		{"550 4.7.0 mismatch", "550", "5.7.1", "4.7.0 mismatch", true},
		{"521", "521", "5.7.1", "Service unavailable", true},
		{"250 ok", "", "", "", false},
		{"5544 x", "", "", "", false},
		{"blocked", "", "", "", false},
	} {
		code, enh, text, err := parseReply(tc.in)
		if (err == nil) != tc.ok || tc.ok && (tc.code != strconv.Itoa(code) || enh != tc.enh || text != tc.text) {
			t.Errorf("parseReply(%q) = %d %q %q %v", tc.in, code, enh, text, err)
		}
	}
}

// FuzzReplyTemplate: no template or filter makes the parsers panic, run
// away, or produce a reply without a 4xx/5xx code.
func FuzzReplyTemplate(f *testing.F) {
	for _, s := range []string{config.DefaultRBLReply, "${a?{x}:{y}}", "$$", "${", "$(a", "550 5.7.1 $rbl_what", "127.0.0.[2..11]", "[0;1..3].1.2.3"} {
		f.Add(s)
	}
	vars := func(n string) string { return "v" + n }
	f.Fuzz(func(t *testing.T, s string) {
		out, err := expandTemplate(s, vars)
		if err == nil && len(out) > maxExpansion+len(s)+1024 {
			t.Fatalf("expansion of %d bytes", len(out))
		}
		if err == nil {
			if code, _, _, err := parseReply(out); err == nil && (code < 400 || code > 599) {
				t.Fatalf("code %d accepted", code)
			}
		}
		_, _ = parseFilter(s)
		_, _ = parseDNSList(s, true)
	})
}

// dnsZone is the list zone of the unit tests.
func dnsZone(t *testing.T) *dnstest.Server {
	s := dnstest.New(t, `
2.0.0.127.zen.example. 60 A 127.0.0.2
2.0.0.127.zen.example. TXT "spam source"
3.0.0.127.zen.example. A 127.0.0.20
4.0.0.127.dnswl.example. A 127.0.5.1
1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.zen.example. A 127.0.0.3
bad.client.example.rhs.example. A 127.0.0.2
spam.example.rhs.example. A 127.0.0.2
good.example. MX 10 mx.good.example.
mx.good.example. A 192.0.2.1
onlya.example. A 192.0.2.2
nullmx.example. MX 0 .
badmx.example. MX 10 mx.badhost.example.
mx.badhost.example. A 192.0.2.66
sub.nsless.example. A 192.0.2.3
nsless.example. NS ns.evil.example.
helo.example. A 192.0.2.4
`)
	s.ServFail("5.0.0.127.zen.example", true)
	s.ServFail("5.0.0.127.dnswl.example", true)
	s.ServFail("temp.example", true)
	return s
}

func TestDNSRestrictions(t *testing.T) {
	ctx := context.Background()
	zone := dnsZone(t)
	dir := t.TempDir()
	replyMap := dir + "/rbl_reply"
	if err := os.WriteFile(replyMap, []byte("zen.example=127.0.0.2 451 4.7.1 try $client_name later; $rbl_reason\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	mx := dir + "/mx"
	if err := os.WriteFile(mx, []byte("badhost.example REJECT bad mx\n192.0.2.1 OK\nevil.example 550 bad ns\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	foreign := &directory.Resolution{Class: directory.Foreign}
	local := &directory.Resolution{Class: directory.Virtual, Destinations: []directory.Destination{{Kind: directory.Local}}}
	req := func(ip, host, helo, sender, rcpt string, res *directory.Resolution) *Request {
		a := netip.MustParseAddr(ip)
		return &Request{Stage: Rcpt, Env: &envelope.Envelope{ClientIP: a, ClientHost: host, Helo: helo,
			Client: envelope.Client{IP: a, Host: host, ReverseHost: host}}, Sender: sender, Recipient: rcpt, Resolution: res}
	}
	for _, tc := range []struct {
		name  string
		list  []string
		knobs func(*config.DNSKnobs)
		req   *Request
		want  string
	}{
		{"listed with TXT", []string{"reject_rbl_client zen.example"}, nil, req("127.0.0.2", "unknown", "h.example", "s@good.example", "a@here.example", local),
			"554 5.7.1 Service unavailable; Client host [127.0.0.2] blocked using zen.example; spam source"},
		{"filter miss", []string{"reject_rbl_client zen.example=127.0.0.[2..11]"}, nil, req("127.0.0.3", "unknown", "h.example", "s@good.example", "a@here.example", local), ""},
		{"filter hit", []string{"reject_rbl_client zen.example=127.0.0.[19;20]"}, nil, req("127.0.0.3", "unknown", "h.example", "s@good.example", "a@here.example", local),
			"554 5.7.1 Service unavailable; Client host [127.0.0.3] blocked using zen.example"},
		{"IPv6 client", []string{"reject_rbl_client zen.example"}, nil, req("2001:db8::1", "unknown", "h.example", "s@good.example", "a@here.example", local),
			"554 5.7.1 Service unavailable; Client host [2001:db8::1] blocked using zen.example"},
		{"maps_rbl_reject_code", []string{"reject_rbl_client zen.example"}, func(k *config.DNSKnobs) { k.MapsRBLRejectCode = 550 },
			req("127.0.0.3", "unknown", "h.example", "s@good.example", "a@here.example", local), "550 5.7.1 Service unavailable;"},
		{"rbl_reply_maps by entry", []string{"reject_rbl_client zen.example=127.0.0.2"}, func(k *config.DNSKnobs) { k.RBLReplyMaps = []string{"texthash:" + replyMap} },
			req("127.0.0.2", "bad.client.example", "h.example", "s@good.example", "a@here.example", local), "451 4.7.1 try bad.client.example later; spam source"},
		{"bad template falls back", []string{"reject_rbl_client zen.example"}, func(k *config.DNSKnobs) { k.DefaultRBLReply = "blocked ${oops" },
			req("127.0.0.3", "unknown", "h.example", "s@good.example", "a@here.example", local), "554 5.7.1 Service unavailable; Client host [127.0.0.3] blocked using zen.example"},
		{"SERVFAIL skips a DNSBL", []string{"reject_rbl_client zen.example"}, nil, req("127.0.0.5", "unknown", "h.example", "s@good.example", "a@here.example", local), ""},
		{"dnswl permits", []string{"permit_dnswl_client dnswl.example", "reject"}, nil, req("127.0.0.4", "unknown", "h.example", "s@good.example", "a@here.example", local), ""},
		{"dnswl never allows relaying", []string{"permit_dnswl_client dnswl.example", "reject"}, nil, req("127.0.0.4", "unknown", "h.example", "s@good.example", "x@far.example", foreign),
			"554 5.7.1 <x@far.example>: Recipient address rejected: Access denied"},
		{"dnswl failure is defer_if_reject", []string{"permit_dnswl_client dnswl.example", "reject"}, nil, req("127.0.0.5", "unknown", "h.example", "s@good.example", "a@here.example", local),
			"450 4.7.1 <a@here.example>: Recipient address rejected: Access denied"},
		{"rhsbl client", []string{"reject_rhsbl_client rhs.example"}, nil, req("127.0.0.9", "bad.client.example", "h.example", "s@good.example", "a@here.example", local),
			"554 5.7.1 Service unavailable; Client host [bad.client.example] blocked using rhs.example"},
		{"rhsbl client unknown name", []string{"reject_rhsbl_client rhs.example"}, nil, req("127.0.0.9", "unknown", "h.example", "s@good.example", "a@here.example", local), ""},
		{"rhsbl sender", []string{"reject_rhsbl_sender rhs.example"}, nil, req("127.0.0.9", "unknown", "h.example", "s@spam.example", "a@here.example", local),
			"554 5.7.1 Service unavailable; Sender address [s@spam.example] blocked using rhs.example"},
		{"rhsbl null sender", []string{"reject_rhsbl_sender rhs.example"}, nil, req("127.0.0.9", "unknown", "h.example", "", "a@here.example", local), ""},
		{"rhswl permits", []string{"permit_rhswl_client rhs.example", "reject"}, nil, req("127.0.0.9", "bad.client.example", "h.example", "s@good.example", "a@here.example", local), ""},
		{"unknown helo", []string{"reject_unknown_helo_hostname"}, nil, req("127.0.0.9", "unknown", "nohost.example", "s@good.example", "a@here.example", local),
			"450 4.7.1 <nohost.example>: Helo command rejected: Host not found"},
		{"unknown helo code", []string{"reject_unknown_helo_hostname"}, func(k *config.DNSKnobs) { k.UnknownHostnameRejectCode = 550 },
			req("127.0.0.9", "unknown", "nohost.example", "s@good.example", "a@here.example", local), "550 5.7.1 <nohost.example>:"},
		{"known helo", []string{"reject_unknown_helo_hostname"}, nil, req("127.0.0.9", "unknown", "helo.example", "s@good.example", "a@here.example", local), ""},
		{"unknown sender domain", []string{"reject_unknown_sender_domain"}, nil, req("127.0.0.9", "unknown", "h.example", "s@nowhere.example", "a@here.example", local),
			"450 4.1.8 <s@nowhere.example>: Sender address rejected: Domain not found"},
		{"unknown_address_reject_code", []string{"reject_unknown_sender_domain"}, func(k *config.DNSKnobs) { k.UnknownAddressRejectCode = 550 },
			req("127.0.0.9", "unknown", "h.example", "s@nowhere.example", "a@here.example", local), "550 5.1.8 <s@nowhere.example>"},
		{"sender domain with A only", []string{"reject_unknown_sender_domain"}, nil, req("127.0.0.9", "unknown", "h.example", "s@onlya.example", "a@here.example", local), ""},
		{"null MX sender", []string{"reject_unknown_sender_domain"}, nil, req("127.0.0.9", "unknown", "h.example", "s@nullmx.example", "a@here.example", local),
			"550 5.7.27 <s@nullmx.example>: Sender address rejected: Domain nullmx.example does not accept mail (nullMX)"},
		{"temp failure defers if permitted", []string{"reject_unknown_sender_domain", "permit"}, nil, req("127.0.0.9", "unknown", "h.example", "s@temp.example", "a@here.example", local),
			"450 4.1.8 <s@temp.example>: Sender address rejected: Domain not found"},
		{"temp failure, then a reject wins", []string{"reject_unknown_sender_domain", "reject"}, nil, req("127.0.0.9", "unknown", "h.example", "s@temp.example", "a@here.example", local),
			"554 5.7.1"},
		{"null MX recipient", []string{"reject_unknown_recipient_domain"}, nil, req("127.0.0.9", "unknown", "h.example", "s@good.example", "x@nullmx.example", foreign),
			"556 5.1.10 <x@nullmx.example>: Recipient address rejected: Domain nullmx.example does not accept mail (nullMX)"},
		{"our recipient domain is not looked up", []string{"reject_unknown_recipient_domain"}, nil, req("127.0.0.9", "unknown", "h.example", "s@good.example", "a@nowhere.example", local), ""},
		{"mx access", []string{"check_sender_mx_access texthash:" + mx}, nil, req("127.0.0.9", "unknown", "h.example", "s@badmx.example", "a@here.example", local),
			"554 5.7.1 <s@badmx.example>: Sender address rejected: bad mx"},
		{"mx access OK is ignored", []string{"check_sender_mx_access texthash:" + mx, "reject"}, nil, req("127.0.0.9", "unknown", "h.example", "s@good.example", "a@here.example", local),
			"554 5.7.1 <a@here.example>"},
		{"ns access, parent domain's servers", []string{"check_sender_ns_access texthash:" + mx}, nil, req("127.0.0.9", "unknown", "h.example", "s@sub.nsless.example", "a@here.example", local),
			"550 5.7.1 <s@sub.nsless.example>: Sender address rejected: bad ns"},
		{"soft_bounce", []string{"reject_rbl_client zen.example"}, func(k *config.DNSKnobs) { k.SoftBounce = true },
			req("127.0.0.2", "unknown", "h.example", "s@good.example", "a@here.example", local), "454 4.7.1 Service unavailable; Client host [127.0.0.2]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := restrictionsConfig(map[string][]string{"relay": tc.list}, nil)
			if tc.knobs != nil {
				tc.knobs(&cfg.Restrictions.DNSKnobs)
			}
			ls, err := Build("smtp", cfg, Deps{DNS: zone.Resolver()})
			if err != nil {
				t.Fatal(err)
			}
			got := ls.AtRcpt(ctx, tc.req).Reply()
			if tc.want == "" && got != "" || !strings.HasPrefix(got, tc.want) {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// Answers are cached for their TTL across requests; temporary failures
// are not cached.
func TestDNSCache(t *testing.T) {
	zone := dnsZone(t)
	c := NewDNSCache(4)
	now := time.Unix(1000, 0)
	c.now = func() time.Time { return now }
	r := zone.Resolver()
	ctx := context.Background()
	for range 3 {
		if _, found, err := c.lookupA(ctx, r, "2.0.0.127.zen.example"); !found || err != nil {
			t.Fatal(found, err)
		}
	}
	if n := zone.Queries("2.0.0.127.zen.example"); n != 1 {
		t.Errorf("queries = %d, want 1 within the TTL", n)
	}
	now = now.Add(61 * time.Second) // the record's TTL is 60
	c.lookupA(ctx, r, "2.0.0.127.zen.example")
	if n := zone.Queries("2.0.0.127.zen.example"); n != 2 {
		t.Errorf("queries = %d, want 2 after the TTL", n)
	}
	for range 2 {
		c.lookupA(ctx, r, "9.9.9.9.zen.example") // NXDOMAIN: cached for the SOA minimum
		if _, _, err := c.lookupA(ctx, r, "5.0.0.127.zen.example"); err == nil {
			t.Fatal("SERVFAIL answered")
		}
	}
	if zone.Queries("9.9.9.9.zen.example") != 1 || zone.Queries("5.0.0.127.zen.example") != 2 {
		t.Errorf("negative answers asked %d times, failures %d; want 1 and 2", zone.Queries("9.9.9.9.zen.example"), zone.Queries("5.0.0.127.zen.example"))
	}
	for i := range 20 {
		c.lookupA(ctx, r, strconv.Itoa(100+i)+".zen.example")
	}
	if c.len() > 4 {
		t.Errorf("cache holds %d entries, bound 4", c.len())
	}
}

// A dead DNS server: the checks answer within the resolver's time limit,
// a DNSBL is skipped (Postfix), a sender domain is deferred.
func TestDNSDead(t *testing.T) {
	zone := dnstest.New(t, "")
	for _, n := range []string{"2.0.0.127.zen.example", "dead.example"} {
		zone.Drop(n, true)
	}
	r, err := dnsx.New([]string{zone.Addr()}, 200*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	cfg := restrictionsConfig(map[string][]string{"recipient": {"reject_rbl_client zen.example", "reject_unknown_sender_domain"}}, nil)
	cfg.Restrictions.UnknownAddressTempfailAction = "defer"
	ls, err := Build("smtp", cfg, Deps{DNS: r})
	if err != nil {
		t.Fatal(err)
	}
	a := netip.MustParseAddr("127.0.0.2")
	got := ls.AtRcpt(context.Background(), &Request{Stage: Rcpt, Env: &envelope.Envelope{ClientIP: a}, Sender: "s@dead.example", Recipient: "a@here.example",
		Resolution: &directory.Resolution{Class: directory.Virtual}}).Reply()
	if got != "450 4.1.8 <s@dead.example>: Sender address rejected: Domain not found" {
		t.Errorf("got %q", got)
	}
}

func TestPostscreen(t *testing.T) {
	zone := dnsZone(t)
	zone.Zone(`
2.0.0.127.b.example. A 127.0.0.2
2.0.0.127.c.example. A 127.0.0.4
6.0.0.127.white.example. A 127.0.0.2
`)
	for _, tc := range []struct {
		sites     []string
		threshold int
		allow     int
		action    string
		ip        string
		score     int
		want      string
		allowlist bool
	}{
		{[]string{"zen.example", "b.example"}, 1, 0, "enforce", "127.0.0.2", 2, "550 5.7.1 Service unavailable; client [127.0.0.2] blocked using zen.example", false},
		{[]string{"zen.example", "b.example*3"}, 4, 0, "drop", "127.0.0.2", 4, "521 5.7.1 Service unavailable; client [127.0.0.2] blocked using b.example", false},
		{[]string{"zen.example", "b.example*3"}, 5, 0, "drop", "127.0.0.2", 4, "", false},
		{[]string{"zen.example=127.0.0.3", "c.example=127.0.0.[3..5]"}, 1, 0, "enforce", "127.0.0.2", 1, "550 5.7.1 Service unavailable; client [127.0.0.2] blocked using c.example", false},
		{[]string{"zen.example"}, 1, 0, "ignore", "127.0.0.2", 1, "", false},
		{[]string{"zen.example", "white.example*-5"}, 1, -2, "enforce", "127.0.0.6", -5, "", true},
		{[]string{"zen.example"}, 1, 0, "enforce", "127.0.0.5", 0, "", false}, // SERVFAIL counts nothing
	} {
		cfg := config.DefaultPostscreen()
		cfg.DNSBLSites, cfg.DNSBLThreshold, cfg.DNSBLAllowlistThreshold, cfg.DNSBLAction = tc.sites, tc.threshold, tc.allow, tc.action
		p, err := newPostscreen(cfg, Deps{DNS: zone.Resolver()}, NewDNSCache(0))
		if err != nil {
			t.Fatal(err)
		}
		res := p.Check(context.Background(), netip.MustParseAddr(tc.ip))
		if res.Score != tc.score || res.Verdict.Reply() != tc.want || res.Allowlisted != tc.allowlist {
			t.Errorf("%v from %s: score %d reply %q allowlisted %v; want %d %q %v", tc.sites, tc.ip, res.Score, res.Verdict.Reply(), res.Allowlisted, tc.score, tc.want, tc.allowlist)
		}
	}
	if _, err := newPostscreen(config.Postscreen{DNSBLSites: []string{"x.example*z"}}, Deps{}, nil); err == nil {
		t.Error("a bad weight was accepted")
	}
}
