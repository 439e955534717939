package dmarc

import (
	"context"
	"errors"
	"testing"
)

func zone() *fakeDNS {
	return &fakeDNS{
		txt: map[string][]string{
			"_dmarc.reject.example":     {"v=DMARC1; p=reject; sp=quarantine; np=reject"},
			"_dmarc.quar.example":       {"v=DMARC1; p=quarantine"},
			"_dmarc.none.example":       {"v=DMARC1; p=none; rua=mailto:r@none.example"},
			"_dmarc.strict.example":     {"v=DMARC1; p=reject; adkim=s; aspf=s"},
			"_dmarc.half.example":       {"v=DMARC1; p=reject; pct=50"},
			"_dmarc.zero.example":       {"v=DMARC1; p=quarantine; pct=0"},
			"_dmarc.two.example":        {"v=DMARC1; p=reject", "v=DMARC1; p=none"},
			"_dmarc.spf.example":        {"v=spf1 -all", "v=DMARC1; p=reject"},
			"_dmarc.bad.example":        {"v=DMARC1; p=nonsense"},
			"_dmarc.sub.own.example":    {"v=DMARC1; p=none"},
			"_dmarc.own.example":        {"v=DMARC1; p=reject; sp=reject"},
			"_dmarc.example.co.uk":      {"v=DMARC1; p=reject"},
			"_dmarc.shop.example.co.uk": {"v=DMARC1; p=quarantine"},
		},
		exists: map[string]bool{"mail.reject.example": true, "reject.example": true},
		temp:   map[string]bool{"_dmarc.down.example": true},
	}
}

func TestEvaluate(t *testing.T) {
	spf := func(d, r string) Identifier { return Identifier{Domain: d, Result: r, Scope: "mfrom"} }
	dkim := func(d, r string) []Identifier { return []Identifier{{Domain: d, Result: r, Selector: "s1"}} }
	cases := []struct {
		name   string
		in     Input
		sample bool // what the sampler answers
		want   string
		policy Policy
		disp   Policy
		check  func(t *testing.T, r Result)
	}{
		{name: "spf aligned pass", in: Input{From: "reject.example", SPF: spf("reject.example", "pass")}, want: "pass", policy: Reject, disp: None,
			check: func(t *testing.T, r Result) {
				if !r.SPFAligned || r.DKIMAligned {
					t.Errorf("aligned spf=%v dkim=%v", r.SPFAligned, r.DKIMAligned)
				}
			}},
		{name: "dkim aligned pass", in: Input{From: "reject.example", SPF: spf("other.example", "pass"), DKIM: dkim("reject.example", "pass")}, want: "pass", policy: Reject, disp: None},
		{name: "fail reject", in: Input{From: "reject.example", SPF: spf("reject.example", "fail"), DKIM: dkim("reject.example", "fail")}, want: "fail", policy: Reject, disp: Reject},
		{name: "unaligned passes fail", in: Input{From: "reject.example", SPF: spf("evil.example", "pass"), DKIM: dkim("evil.example", "pass")}, want: "fail", policy: Reject, disp: Reject},
		{name: "quarantine", in: Input{From: "quar.example"}, want: "fail", policy: Quarantine, disp: Quarantine},
		{name: "none", in: Input{From: "none.example"}, want: "fail", policy: None, disp: None},
		{name: "relaxed subdomain spf", in: Input{From: "reject.example", SPF: spf("bounce.mail.reject.example", "pass")}, want: "pass", policy: Reject, disp: None},
		{name: "relaxed subdomain dkim", in: Input{From: "mail.reject.example", DKIM: dkim("reject.example", "pass")}, want: "pass", policy: Quarantine, disp: None},
		{name: "strict spf subdomain fails", in: Input{From: "strict.example", SPF: spf("mail.strict.example", "pass")}, want: "fail", policy: Reject, disp: Reject},
		{name: "strict dkim subdomain fails", in: Input{From: "strict.example", DKIM: dkim("mail.strict.example", "pass")}, want: "fail", policy: Reject, disp: Reject},
		{name: "strict exact passes", in: Input{From: "strict.example", DKIM: dkim("STRICT.example.", "pass")}, want: "pass", policy: Reject, disp: None},
		{name: "subdomain sp", in: Input{From: "mail.reject.example"}, want: "fail", policy: Quarantine, disp: Quarantine,
			check: func(t *testing.T, r Result) {
				if !r.Found.Org || r.Found.Domain != "reject.example" || r.NonExistent {
					t.Errorf("found %+v nonexistent=%v", r.Found, r.NonExistent)
				}
			}},
		{name: "non-existent subdomain np", in: Input{From: "ghost.reject.example"}, want: "fail", policy: Reject, disp: Reject,
			check: func(t *testing.T, r Result) {
				if !r.NonExistent {
					t.Error("np= not applied")
				}
			}},
		{name: "own record at subdomain", in: Input{From: "sub.own.example"}, want: "fail", policy: None, disp: None},
		{name: "public suffix org domain", in: Input{From: "www.example.co.uk"}, want: "fail", policy: Reject, disp: Reject,
			check: func(t *testing.T, r Result) {
				if r.Found.Domain != "example.co.uk" {
					t.Errorf("found at %s", r.Found.Domain)
				}
			}},
		{name: "relaxed across public suffix fails", in: Input{From: "shop.example.co.uk", SPF: spf("other.co.uk", "pass")}, want: "fail", policy: Quarantine, disp: Quarantine},
		{name: "pct sampled in", in: Input{From: "half.example"}, sample: true, want: "fail", policy: Reject, disp: Reject},
		{name: "pct sampled out", in: Input{From: "half.example"}, sample: false, want: "fail", policy: Reject, disp: Quarantine,
			check: func(t *testing.T, r Result) {
				if !r.SampledOut {
					t.Error("not marked sampled out")
				}
			}},
		{name: "pct 0 quarantine", in: Input{From: "zero.example"}, sample: false, want: "fail", policy: Quarantine, disp: None},
		{name: "no policy", in: Input{From: "nothing.example", SPF: spf("nothing.example", "fail")}, want: "none", disp: None},
		{name: "two records", in: Input{From: "two.example"}, want: "none", disp: None},
		{name: "non-DMARC TXT ignored", in: Input{From: "spf.example"}, want: "fail", policy: Reject, disp: Reject},
		{name: "bad record", in: Input{From: "bad.example"}, want: "none", disp: None},
		{name: "temperror", in: Input{From: "down.example"}, want: "temperror", disp: None,
			check: func(t *testing.T, r Result) {
				if !errors.Is(r.Err, ErrTemp) {
					t.Errorf("err %v", r.Err)
				}
			}},
		{name: "aligned temperror", in: Input{From: "reject.example", SPF: spf("reject.example", "temperror")}, want: "fail", policy: Reject, disp: Reject,
			check: func(t *testing.T, r Result) {
				if !r.TempAligned {
					t.Error("TempAligned not set")
				}
			}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := New(zone(), 0)
			var asked []int
			e.Sample = func(pct int) bool { asked = append(asked, pct); return c.sample }
			r := e.Evaluate(context.Background(), c.in)
			if r.Result != c.want || r.Policy != c.policy || r.Disposition != c.disp {
				t.Fatalf("got result=%s policy=%s disposition=%s (err %v), want %s/%s/%s", r.Result, r.Policy, r.Disposition, r.Err, c.want, c.policy, c.disp)
			}
			if c.check != nil {
				c.check(t, r)
			}
		})
	}
}

// The sampler is asked only for failures under a pct below 100.
func TestSamplerAsked(t *testing.T) {
	e := New(zone(), 0)
	var asked []int
	e.Sample = func(pct int) bool { asked = append(asked, pct); return true }
	e.Evaluate(context.Background(), Input{From: "reject.example"})
	e.Evaluate(context.Background(), Input{From: "half.example", DKIM: []Identifier{{Domain: "half.example", Result: "pass"}}})
	e.Evaluate(context.Background(), Input{From: "half.example"})
	if len(asked) != 1 || asked[0] != 50 {
		t.Errorf("sampler asked %v, want [50]", asked)
	}
}

func TestCache(t *testing.T) {
	dns := zone()
	e := New(dns, 0)
	for range 3 {
		e.Evaluate(context.Background(), Input{From: "reject.example"})
		e.Evaluate(context.Background(), Input{From: "nothing.example"})
	}
	// The tree walks ask _dmarc.reject.example, _dmarc.example (for the
	// organizational domain of reject.example) and _dmarc.nothing.example:
	// each once.
	if n := dns.queries.Load(); n != 3 {
		t.Errorf("%d TXT queries for 6 evaluations, want 3", n)
	}
}

func TestAligned(t *testing.T) {
	cases := []struct {
		a, b string
		mode Alignment
		want bool
	}{
		{"example.com", "example.com", Strict, true},
		{"Example.COM.", "example.com", Strict, true},
		{"mail.example.com", "example.com", Strict, false},
		{"mail.example.com", "example.com", Relaxed, true},
		{"a.example.com", "b.example.com", Relaxed, true},
		{"example.net", "example.com", Relaxed, false},
		{"a.co.uk", "b.co.uk", Relaxed, false},
		{"notexample.com", "example.com", Relaxed, false},
		{"example.com", "mail.example.com", Relaxed, true},
		{"co.uk", "example.co.uk", Relaxed, false},
		{"", "example.com", Relaxed, false},
	}
	// The zone publishes what the domains of the cases would: a record
	// at each organizational domain, psd=y at the public suffixes.
	dns := &fakeDNS{txt: map[string][]string{
		"_dmarc.example.com":    {"v=DMARC1; p=none"},
		"_dmarc.com":            {"v=DMARC1; p=none; psd=y"},
		"_dmarc.co.uk":          {"v=DMARC1; p=none; psd=y"},
		"_dmarc.example.co.uk":  {"v=DMARC1; p=none"},
		"_dmarc.a.co.uk":        {"v=DMARC1; p=none"},
		"_dmarc.b.co.uk":        {"v=DMARC1; p=none"},
		"_dmarc.notexample.com": {"v=DMARC1; p=none"},
	}}
	for _, mode := range []OrgMode{PSL, TreeWalk} {
		e := New(dns, 0)
		e.Org = mode
		for _, c := range cases {
			got, err := e.Aligned(context.Background(), c.a, c.b, c.mode)
			if err != nil || got != c.want {
				t.Errorf("mode %d: Aligned(%q, %q, %c) = %v, %v", mode, c.a, c.b, c.mode, got, err)
			}
		}
	}
}
