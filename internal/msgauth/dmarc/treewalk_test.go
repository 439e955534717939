package dmarc

import (
	"context"
	"errors"
	"slices"
	"testing"
)

func TestWalkTargets(t *testing.T) {
	cases := []struct {
		in   string
		want []string
	}{
		{"com", []string{"com"}},
		{"example.com", []string{"example.com", "com"}},
		{"a.mail.example.com", []string{"a.mail.example.com", "mail.example.com", "example.com", "com"}},
		// RFC 9989 4.10: more than eight labels jumps to the last seven.
		{"a.b.c.d.e.f.g.h.i.j", []string{"a.b.c.d.e.f.g.h.i.j", "d.e.f.g.h.i.j", "e.f.g.h.i.j", "f.g.h.i.j", "g.h.i.j", "h.i.j", "i.j", "j"}},
		{"a.b.c.d.e.f.g.h", []string{"a.b.c.d.e.f.g.h", "b.c.d.e.f.g.h", "c.d.e.f.g.h", "d.e.f.g.h", "e.f.g.h", "f.g.h", "g.h", "h"}},
	}
	for _, c := range cases {
		got := walkTargets(c.in)
		if !slices.Equal(got, c.want) {
			t.Errorf("walkTargets(%q) = %q, want %q", c.in, got, c.want)
		}
		if len(got) > maxWalk {
			t.Errorf("walkTargets(%q): %d names, more than %d", c.in, len(got), maxWalk)
		}
	}
}

// The organizational domain by the tree walk (RFC 9989 4.10.2), and
// where it differs from the public suffix list.
func TestOrgDomainTreeWalk(t *testing.T) {
	dns := &fakeDNS{
		txt: map[string][]string{
			"_dmarc.example.com":          {"v=DMARC1; p=reject"},
			"_dmarc.com":                  {"v=DMARC1; p=none; psd=y"},
			"_dmarc.dept.big.example":     {"v=DMARC1; p=reject; psd=n"},
			"_dmarc.big.example":          {"v=DMARC1; p=none"},
			"_dmarc.sub.plain.example":    {"v=DMARC1; p=none"},
			"_dmarc.blogspot.example":     {"v=DMARC1; p=none; psd=y"},
			"_dmarc.psd.example":          {"v=DMARC1; p=reject; psd=y"},
			"_dmarc.x.y.z.deep.example":   {"v=DMARC1; p=none"},
			"_dmarc.invalid-psd.example":  {"v=DMARC1; p=none; psd=maybe"},
			"_dmarc.mail.big.example.org": {"v=DMARC1; p=none"},
		},
		temp: map[string]bool{"_dmarc.down.example": true},
	}
	cases := []struct {
		domain, tree, psl string
	}{
		// A record with no psd= at the top of the walk is the org.
		{"mail.example.com", "example.com", "example.com"},
		// psd=y at com: the name one label below it.
		{"a.b.example.com", "example.com", "example.com"},
		// psd=n stops the walk where it stands.
		{"x.dept.big.example", "dept.big.example", "big.example"},
		// The fewest labels with a record.
		{"x.sub.plain.example", "sub.plain.example", "plain.example"},
		// psd=y one label up: the org is the name below it.
		{"me.blogspot.example", "me.blogspot.example", "blogspot.example"},
		{"deep.me.blogspot.example", "me.blogspot.example", "blogspot.example"},
		// psd=y at the domain itself: the domain is its own org.
		{"psd.example", "psd.example", "psd.example"},
		// No record anywhere: the domain itself.
		{"a.nothing.example", "a.nothing.example", "nothing.example"},
		{"x.y.z.deep.example", "x.y.z.deep.example", "deep.example"},
		// An invalid psd= is ignored.
		{"invalid-psd.example", "invalid-psd.example", "invalid-psd.example"},
	}
	for _, c := range cases {
		for _, m := range []struct {
			mode OrgMode
			want string
		}{{TreeWalk, c.tree}, {PSL, c.psl}} {
			e := New(dns, 0)
			e.Org = m.mode
			got, err := e.OrgDomain(context.Background(), c.domain)
			if err != nil || got != m.want {
				t.Errorf("mode %d: OrgDomain(%q) = %q, %v; want %q", m.mode, c.domain, got, err, m.want)
			}
		}
	}
	e := New(dns, 0)
	if _, err := e.OrgDomain(context.Background(), "a.down.example"); !errors.Is(err, ErrTemp) {
		t.Errorf("OrgDomain through a failing name: err %v, want ErrTemp", err)
	}
}

// Policy discovery by the tree walk takes the first record on the way up
// (RFC 9989 4.10.1), an intermediate one included, where the public
// suffix list looks only at the From domain and its org domain.
func TestDiscoverTreeWalk(t *testing.T) {
	dns := &fakeDNS{txt: map[string][]string{
		"_dmarc.mid.corp.example": {"v=DMARC1; p=quarantine; sp=quarantine"},
		"_dmarc.corp.example":     {"v=DMARC1; p=reject; sp=reject"},
		"_dmarc.example":          {"v=DMARC1; p=reject; psd=y"},
	}}
	ctx := context.Background()
	e := New(dns, 0)
	f, err := e.Discover(ctx, "host.mid.corp.example")
	if err != nil || f == nil || f.Domain != "mid.corp.example" || !f.Org {
		t.Fatalf("tree walk found %+v, %v; want mid.corp.example", f, err)
	}
	r := e.Evaluate(ctx, Input{From: "host.mid.corp.example"})
	if r.Policy != Quarantine || r.OrgDomain != "corp.example" {
		t.Errorf("tree walk: policy %s org %s, want quarantine from mid.corp.example, org corp.example", r.Policy, r.OrgDomain)
	}
	// A DKIM signature of the org domain aligns in relaxed mode.
	r = e.Evaluate(ctx, Input{From: "host.mid.corp.example", DKIM: []Identifier{{Domain: "corp.example", Result: "pass"}}})
	if r.Result != ResultPass {
		t.Errorf("relaxed alignment with the org domain: %s", r.Result)
	}
	// A PSD record (RFC 9091) reaches a From domain that publishes nothing.
	r = e.Evaluate(ctx, Input{From: "unknown.example"})
	if r.Result != ResultFail || r.Policy != Reject || r.Found.Domain != "example" {
		t.Errorf("PSD policy: %+v", r)
	}
	p := New(dns, 0)
	p.Org = PSL
	f, err = p.Discover(ctx, "host.mid.corp.example")
	if err != nil || f == nil || f.Domain != "corp.example" {
		t.Fatalf("PSL found %+v, %v; want corp.example", f, err)
	}
}
