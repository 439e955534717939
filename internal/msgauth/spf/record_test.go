package spf

import (
	"errors"
	"testing"
)

func TestParseRecord(t *testing.T) {
	for _, tc := range []struct {
		rec   string
		ok    bool
		mechs int
	}{
		{"v=spf1", true, 0},
		{"v=spf1 -all", true, 1},
		{"V=SPF1 ~ALL", true, 1},
		{"v=spf1  a   mx  -all ", true, 3},
		{"v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/32 a:mail.example.com/24//64 mx/26 ptr ptr:example.com exists:%{i}.bl.example.com include:_spf.example.com ?all", true, 9},
		{"v=spf1 redirect=_spf.example.com exp=explain.%{d}", true, 0},
		{"v=spf1 foo=bar-baz.%{d}", true, 0},
		{"v=spf1 -all.", false, 0},
		{"v=spf1 all:x", false, 0},
		{"v=spf1 ip4:1.2.3.4/33", false, 0},
		{"v=spf1 ip4:1.2.3.4/032", false, 0},
		{"v=spf1 ip4:01.2.3.4", false, 0},
		{"v=spf1 ip6:::1/129", false, 0},
		{"v=spf1 ip6:1.2.3.4", false, 0},
		{"v=spf1 ip4:::1", false, 0},
		{"v=spf1 a/24/64", false, 0},
		{"v=spf1 a:", false, 0},
		{"v=spf1 a:museum", false, 0},
		{"v=spf1 a:abc.123", false, 0},
		{"v=spf1 a:example.-com", false, 0},
		{"v=spf1 a:example.xn--zckzah", true, 1},
		{"v=spf1 ptr/24", false, 0},
		{"v=spf1 exists", false, 0},
		{"v=spf1 include", false, 0},
		{"v=spf1 redirect=a.example redirect=b.example", false, 0},
		{"v=spf1 exp=a.example exp=b.example", false, 0},
		{"v=spf1 exp=", false, 0},
		{"v=spf1 1up=foo", false, 0},
		{"v=spf1 =all", false, 0},
		{"v=spf1 foo=%x", false, 0},
		{"v=spf1 redirect:example.com", false, 0},
		{"v=spf1 moo", false, 0},
		{"v=spf1 a:b.example\rptr", false, 0},
		{"v=spf10", false, 0},
	} {
		r, err := parseRecord(tc.rec)
		if (err == nil) != tc.ok {
			t.Errorf("%q: err %v, want ok %v", tc.rec, err, tc.ok)
			continue
		}
		if err != nil {
			if !errors.Is(err, ErrSyntax) {
				t.Errorf("%q: error %v does not wrap ErrSyntax", tc.rec, err)
			}
			continue
		}
		if len(r.mechs) != tc.mechs {
			t.Errorf("%q: %d mechanisms, want %d", tc.rec, len(r.mechs), tc.mechs)
		}
	}
}

func TestParseRecordCIDR(t *testing.T) {
	r, err := parseRecord("v=spf1 a:foo.example.com/24//64 mx//0 ip4:192.0.2.1/16")
	if err != nil {
		t.Fatal(err)
	}
	if m := r.mechs[0]; m.cidr4 != 24 || m.cidr6 != 64 {
		t.Errorf("a: %d %d", m.cidr4, m.cidr6)
	}
	if m := r.mechs[1]; m.cidr4 != 32 || m.cidr6 != 0 {
		t.Errorf("mx: %d %d", m.cidr4, m.cidr6)
	}
	if m := r.mechs[2]; m.net.String() != "192.0.0.0/16" {
		t.Errorf("ip4: %s", m.net)
	}
}
