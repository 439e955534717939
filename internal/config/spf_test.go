package config

import (
	"net/netip"
	"strings"
	"testing"
	"time"
)

func TestSPFConfig(t *testing.T) {
	c, err := Parse("f.toml", []byte("[spf]\nhelo_reject = \"SPF_Not_Pass\"\nwhitelist = [\"192.0.2.7\", \"2001:db8::/32\"]\nlookup_time = \"5s\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	s := c.SPF
	if !s.Enable || s.HeloReject != "spf_not_pass" || s.MailFromReject != "fail" || s.LookupTime.D() != 5*time.Second ||
		s.VoidLimit != 2 || s.LookupLimit != 10 || s.HeaderType != "spf" || s.PermErrorReject || s.TempErrorDefer {
		t.Errorf("[spf] = %+v", s)
	}
	ex := s.SPFExempt()
	for _, ip := range []string{"127.0.0.1", "::1", "192.0.2.7", "2001:db8::5"} {
		in := false
		for _, p := range ex {
			in = in || p.Contains(netip.MustParseAddr(ip))
		}
		if !in {
			t.Errorf("%s not exempt (%v)", ip, ex)
		}
	}
	for _, tc := range []struct{ src, want string }{
		{"[spf]\nhelo_reject = \"maybe\"\n", "f.toml:2: spf.helo_reject"},
		{"[spf]\nmail_from_reject = \"null\"\n", "spf.mail_from_reject"},
		{"[spf]\nheader_type = \"x\"\n", "spf.header_type"},
		{"[spf]\nskip_addresses = [\"10.0.0.0/33\"]\n", "spf.skip_addresses"},
		{"[spf]\nwhitelist = [\"host.example\"]\n", "spf.whitelist"},
		{"[spf]\ndomain_whitelist = [\"a b\"]\n", "spf.domain_whitelist"},
		{"[spf]\nlookup_time = \"0s\"\n", "spf.lookup_time"},
		{"[spf]\nvoid_limit = 0\n", "spf.void_limit"},
		{"[spf]\nlookup_limit = 1000\n", "spf.lookup_limit"},
	} {
		if _, err := Parse("f.toml", []byte(tc.src)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: err %v, want %q", tc.src, err, tc.want)
		}
	}
}
