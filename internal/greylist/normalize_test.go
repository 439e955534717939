package greylist

import (
	"net/netip"
	"strings"
	"testing"
)

func TestNormalizeSender(t *testing.T) {
	for _, tc := range []struct{ in, delims, want string }{
		{"Alice@Example.ORG", "", "alice@example.org"},
		{"alice+list@example.org", "+", "alice@example.org"},
		{"alice-list@example.org", "+-", "alice@example.org"},
		{"alice-list@example.org", "+", "alice-list@example.org"},
		{"bounce-12345-678@lists.example.org", "", "bounce-#-#@lists.example.org"},
		{"bounce-mc.us5_123.456-alice=example.com@mail.example", "", "bounce-mc.us5_123.#-alice=example.com@mail.example"},
		{"abc123@example.org", "", "abc123@example.org"},   // no word boundary: kept
		{"123@example.org", "", "#@example.org"},           // a number of its own
		{"user_42@example.org", "", "user_42@example.org"}, // _ is a word character
		{"prvs=1234567890=alice@example.org", "", "alice@example.org"},
		{"prvs=alice=1234567890@example.org", "", "alice@example.org"},
		{"prvs=abcdefghij=klmnopqrst@example.org", "", "klmnopqrst@example.org"}, // both look like tags: the standard order
		{"prvs=short@example.org", "", "prvs=short@example.org"},
		{"SRS0=HHH1=TT=orig.example=alice@fwd.example", "", "srs0=#=#=orig.example=alice@fwd.example"},
		{"SRS1=HHH=fwd1.example==HHH=TT=orig.example=alice@fwd2.example", "", "srs1=#=fwd1.example==#=#=orig.example=alice@fwd2.example"},
		{"", "", ""},
		{"MAILER-DAEMON", "", "mailer-daemon"},
		{"a@b@c.example", "", "a@b@c.example"},
	} {
		if got := NormalizeSender(tc.in, tc.delims); got != tc.want {
			t.Errorf("NormalizeSender(%q, %q) = %q, want %q", tc.in, tc.delims, got, tc.want)
		}
	}
}

func TestClientNet(t *testing.T) {
	for _, tc := range []struct {
		ip     string
		v4, v6 int
		want   string
	}{
		{"192.0.2.77", 24, 64, "192.0.2.0/24"},
		{"::ffff:192.0.2.77", 24, 64, "192.0.2.0/24"},
		{"2001:db8:1:2:3:4:5:6", 24, 64, "2001:db8:1:2::/64"},
		{"192.0.2.77", 32, 128, "192.0.2.77/32"},
	} {
		if got := ClientNet(netip.MustParseAddr(tc.ip), tc.v4, tc.v6).String(); got != tc.want {
			t.Errorf("ClientNet(%s) = %s, want %s", tc.ip, got, tc.want)
		}
	}
}

func TestS25R(t *testing.T) {
	for _, tc := range []struct {
		host string
		want string // the rule, "" for none
	}{
		{"unknown", "rule0"},
		{"", "rule0"},
		{"p1234-ipad5.example.ne.jp", "rule1"},
		{"host12345.example.com", "rule2"},
		{"12-34-56-78.dyn.example.com", "rule1"},
		{"host.3ab.isp.example.jp", "rule3"},
		{"xxx1.yy2-3.example", "rule4"},
		{"abc1.def2.ghi.example.net", "rule5"},
		{"dhcp-host9.example.com", "rule6"},
		{"ADSL-7.example.com", "rule6"},
		{"mail.example.com", ""},
		{"mx1.example.com", ""},
		{"smtp-out2.example.org", ""},
		{"mail-ob0-f170.google.com", "rule1"}, // a known S25R false positive (hence the exceptions)
	} {
		ok, rule := S25R(tc.host)
		if ok != (tc.want != "") || rule != tc.want {
			t.Errorf("S25R(%q) = %v %q, want %q", tc.host, ok, rule, tc.want)
		}
	}
}

func TestParseClients(t *testing.T) {
	l, err := ParseClients("wl", strings.NewReader(`# postgrey's format
example.org      # and its subdomains
/^mta[0-9]+\.bigmail\.example$/
192.0.2.7
198.51.100.0/25
10.1.2
10.3
2001:db8::/48
  
`))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, ip string
		want     bool
	}{
		{"mx.example.org", "203.0.113.1", true},
		{"example.org", "203.0.113.1", true},
		{"badexample.org", "203.0.113.1", false},
		{"MTA12.BigMail.example", "203.0.113.1", true},
		{"unknown", "192.0.2.7", true},
		{"unknown", "192.0.2.8", false},
		{"unknown", "198.51.100.127", true},
		{"unknown", "198.51.100.128", false},
		{"unknown", "10.1.2.200", true},
		{"unknown", "10.3.99.1", true},
		{"unknown", "10.4.0.1", false},
		{"unknown", "2001:db8:0:ffff::1", true},
		{"unknown", "::ffff:192.0.2.7", true},
	} {
		if got, _ := l.Match(tc.name, netip.MustParseAddr(tc.ip)); got != tc.want {
			t.Errorf("Match(%s, %s) = %v, want %v", tc.name, tc.ip, got, tc.want)
		}
	}
	for _, bad := range []string{"two words", "/(unclosed/", "999.1.1.1", "192.0.2.0/40", "/" + strings.Repeat("a", 2000) + "/"} {
		if _, err := ParseClients("wl", strings.NewReader("ok.example\n"+bad+"\n")); err == nil {
			t.Errorf("%q: no error", bad)
		} else if !strings.HasPrefix(err.Error(), "wl:2: ") {
			t.Errorf("%q: error %q does not name the line", bad, err)
		}
	}
}

func TestParseRecipients(t *testing.T) {
	l, err := ParseRecipients("wr", strings.NewReader("postmaster@\nabuse@example.com\nlists.example.net\n/^spamtrap-.*@/\n"), "+")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		addr string
		want bool
	}{
		{"postmaster@anything.example", true},
		{"Postmaster+x@anything.example", true},
		{"postmasterx@anything.example", false},
		{"abuse@example.com", true},
		{"abuse+tag@example.com", true},
		{"abuse@sub.example.com", false},
		{"bob@lists.example.net", true},
		{"bob@a.lists.example.net", true},
		{"bob@xlists.example.net", false},
		{"spamtrap-1@example.com", true},
	} {
		if got, _ := l.Match(tc.addr); got != tc.want {
			t.Errorf("Match(%s) = %v, want %v", tc.addr, got, tc.want)
		}
	}
	if _, err := ParseRecipients("wr", strings.NewReader("a b\n"), ""); err == nil {
		t.Error("an entry with a blank: no error")
	}
}

// Debian's postgrey ships whitelists in this format: they must load.
func TestDebianWhitelists(t *testing.T) {
	for _, f := range []string{"/etc/postgrey/whitelist_clients"} {
		l, err := loadClients([]string{f})
		if err != nil {
			if strings.Contains(err.Error(), "no such file") {
				t.Skip("postgrey is not installed")
			}
			t.Fatal(err)
		}
		if l.Len() < 50 {
			t.Errorf("%s: only %d entries", f, l.Len())
		}
	}
	if _, err := loadRecipients([]string{"/etc/postgrey/whitelist_recipients"}, "+"); err != nil {
		t.Fatal(err)
	}
}

func FuzzParseClients(f *testing.F) {
	for _, s := range []string{"example.org\n", "/^mx[0-9]+\\./\n", "192.0.2.7\n10.1\n2001:db8::/32\n", "# c\n  x y \n", "/(/\n", "1.2.3.4/99\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		l, err := ParseClients("f", strings.NewReader(s))
		if err != nil {
			return
		}
		l.Match("mail.example.org", netip.MustParseAddr("192.0.2.1"))
		if _, err := ParseRecipients("f", strings.NewReader(s), "+-"); err == nil {
			return
		}
	})
}

func FuzzNormalizeSender(f *testing.F) {
	for _, s := range []string{"a+b@c", "prvs=1234567890=x@y", "SRS0=a=b=c=d@e", "bounce-1-2@x", "", "@", "a@b@c", "srs1=a=b==c=d=e=f@g"} {
		f.Add(s, "+")
	}
	f.Fuzz(func(t *testing.T, s, delims string) {
		if len(delims) > 4 {
			delims = delims[:4]
		}
		n := NormalizeSender(s, delims)
		if len(n) > maxAddr {
			t.Fatalf("%q: %d bytes", n, len(n))
		}
		if n != strings.ToLower(n) {
			t.Fatalf("%q: not lower-case", n)
		}
		if NormalizeSender(n, delims) != n && !strings.Contains(s, "=") && !strings.Contains(delims, "#") {
			t.Fatalf("%q: not idempotent: %q then %q", s, n, NormalizeSender(n, delims))
		}
	})
}
