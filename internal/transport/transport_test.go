package transport

import (
	"strings"
	"testing"
)

func TestParseResult(t *testing.T) {
	tests := []struct {
		in   string
		want Route
	}{
		{"smtp:[smtp.example.com]:587", Route{Kind: SMTP, Nexthop: "[smtp.example.com]:587", Hop: Hop{Host: "smtp.example.com", Port: 587, NoMX: true}}},
		{"smtp:mx.example.com", Route{Kind: SMTP, Nexthop: "mx.example.com", Hop: Hop{Host: "mx.example.com"}}},
		{"smtp:mx.example.com:2525", Route{Kind: SMTP, Nexthop: "mx.example.com:2525", Hop: Hop{Host: "mx.example.com", Port: 2525}}},
		{"smtp:", Route{Kind: SMTP}},
		{"relay:[10.0.0.2]", Route{Kind: SMTP, Nexthop: "[10.0.0.2]", Hop: Hop{Host: "10.0.0.2", NoMX: true}}},
		{"smtp:[ipv6:2001:db8::1]:25", Route{Kind: SMTP, Nexthop: "[ipv6:2001:db8::1]:25", Hop: Hop{Host: "2001:db8::1", Port: 25, NoMX: true}}},
		{"SMTP:host:submission", Route{Kind: SMTP, Nexthop: "host:submission", Hop: Hop{Host: "host", Port: 587}}},
		{":[gw.example.com]", Route{Kind: SMTP, Nexthop: "[gw.example.com]", Hop: Hop{Host: "gw.example.com", NoMX: true}}},
		{":", Route{Kind: Default}},
		{"lmtp:unix:/run/dovecot/lmtp", Route{Kind: LMTP, Nexthop: "unix:/run/dovecot/lmtp", Unix: "/run/dovecot/lmtp"}},
		{"lmtp:[127.0.0.1]:24", Route{Kind: LMTP, Nexthop: "[127.0.0.1]:24", Hop: Hop{Host: "127.0.0.1", Port: 24, NoMX: true}}},
		{"lmtp:inet:lmtp.example.com:2424", Route{Kind: LMTP, Nexthop: "inet:lmtp.example.com:2424", Hop: Hop{Host: "lmtp.example.com", Port: 2424}}},
		{"local:", Route{Kind: Local}},
		{"virtual:", Route{Kind: Local}},
		{"error:5.1.1 no such user here", Route{Kind: Error, Nexthop: "5.1.1 no such user here", Enhanced: "5.1.1", Text: "no such user here"}},
		{"error:mailbox gone", Route{Kind: Error, Nexthop: "mailbox gone", Enhanced: "5.0.0", Text: "mailbox gone"}},
		{"error:", Route{Kind: Error, Enhanced: "5.0.0", Text: "delivery refused by the transport table"}},
		{"retry:4.3.2 maintenance", Route{Kind: Retry, Nexthop: "4.3.2 maintenance", Enhanced: "4.3.2", Text: "maintenance"}},
		{"discard:", Route{Kind: Discard, Enhanced: "2.0.0", Text: "discarded"}},
		{"discard:spam trap", Route{Kind: Discard, Nexthop: "spam trap", Enhanced: "2.0.0", Text: "spam trap"}},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseResult(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, src, want string
	}{
		{"no result", "example.com\n", "t:1: pattern \"example.com\" has no result"},
		{"no colon", "\n\nexample.com smtp\n", "t:3: result \"smtp\": want transport:nexthop"},
		{"unknown transport", "# c\nexample.com uucp:host\n", "t:2: unknown transport \"uucp\""},
		{"bad port", "a.example smtp:[h]:99999\n", "t:1: next hop \"[h]:99999\": bad port"},
		{"missing bracket", "a.example smtp:[h:25\n", "t:1: next hop \"[h:25\": missing ]"},
		{"bare ipv6", "a.example smtp:2001:db8::1\n", "t:1: next hop \"2001:db8::1\": write an IPv6 address in brackets"},
		{"relative socket", "a.example lmtp:unix:run/lmtp\n", "t:1: lmtp:unix: wants an absolute socket path"},
		{"lmtp without hop", "a.example lmtp:\n", "t:1: lmtp: needs a next hop"},
		{"error with 4xx", "a.example error:4.1.1 later\n", "t:1: error: status 4.1.1 must start with 5"},
		{"at-domain", "@example.com local:\n", "t:1: pattern \"@example.com\": @domain is not"},
		{"user-at", "user@ local:\n", "t:1: pattern \"user@\": user@ patterns are not supported"},
		{"bad domain", "exa..mple.com local:\n", "t:1: bad domain in pattern \"exa..mple.com\""},
		{"bracket pattern", "[10.0.0.1] local:\n", "t:1: bad pattern"},
		{"duplicate", "a.example local:\n\nA.example smtp:\n", "t:3: duplicate pattern \"a.example\" (first on line 1)"},
		{"continuation keeps number", "a.example\n  error:5.1.1 gone\nb.example\n", "t:3: pattern \"b.example\" has no result"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("t", []byte(tc.src))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestParseReportsEveryBadLine(t *testing.T) {
	_, err := Parse("t", []byte("a.example nope\nb.example local:\nc.example smtp:[x\n"))
	if err == nil {
		t.Fatal("no error")
	}
	got := err.Error()
	if !strings.Contains(got, "t:1:") || !strings.Contains(got, "t:3:") || strings.Contains(got, "t:2:") {
		t.Errorf("errors:\n%s", got)
	}
}

const sample = `# transport(5)
user@example.com     lmtp:unix:/run/lmtp
example.com          smtp:[mx.example.com]:2525
.example.com         smtp:sub-relay.example.net
.deep.example.com    relay:[deep.example.net]
bounce.example.org   error:5.1.1 this domain is closed,
    write to info@example.org
trap.example.org     discard:
local.example.org    virtual:
*                    smtp:[fallback.example.net]
`

func TestLookupPrecedence(t *testing.T) {
	tab, err := Parse("sample", []byte(sample))
	if err != nil {
		t.Fatal(err)
	}
	if tab.Len() != 8 {
		t.Errorf("Len = %d", tab.Len())
	}
	tests := []struct {
		addr, nexthop string
		kind          Kind
	}{
		{"user@example.com", "unix:/run/lmtp", LMTP},
		{"USER@Example.COM", "unix:/run/lmtp", LMTP},
		{"other@example.com", "[mx.example.com]:2525", SMTP},
		{"user@a.example.com", "sub-relay.example.net", SMTP},
		{"x@b.a.example.com", "sub-relay.example.net", SMTP},
		{"x@deep.example.com", "sub-relay.example.net", SMTP},
		{"x@a.deep.example.com", "[deep.example.net]", SMTP},
		{"x@bounce.example.org", "5.1.1 this domain is closed, write to info@example.org", Error},
		{"x@trap.example.org", "", Discard},
		{"x@local.example.org", "", Local},
		{"x@elsewhere.test", "[fallback.example.net]", SMTP},
		{"x@example.com.", "[mx.example.com]:2525", SMTP},
		{"postmaster", "[fallback.example.net]", SMTP},
	}
	for _, tc := range tests {
		t.Run(tc.addr, func(t *testing.T) {
			r, ok := tab.Lookup(tc.addr)
			if !ok || r.Kind != tc.kind || r.Nexthop != tc.nexthop {
				t.Errorf("Lookup = %+v, %v; want %v %q", r, ok, tc.kind, tc.nexthop)
			}
		})
	}
	noStar, err := Parse("t", []byte("example.com local:\n"))
	if err != nil {
		t.Fatal(err)
	}
	for _, addr := range []string{"a@sub.example.com", "a@example.org", "a@com", "a@"} {
		if r, ok := noStar.Lookup(addr); ok {
			t.Errorf("Lookup(%q) = %+v: parent matches need .example.com", addr, r)
		}
	}
	if _, ok := (*Table)(nil).Lookup("a@b"); ok {
		t.Error("nil table matched")
	}
}

func TestParseHop(t *testing.T) {
	tests := []struct {
		in      string
		want    Hop
		wantErr bool
	}{
		{"[smtp.example.com]:587", Hop{Host: "smtp.example.com", Port: 587, NoMX: true}, false},
		{"smtp.example.com", Hop{Host: "smtp.example.com"}, false},
		{"[10.0.0.2]", Hop{Host: "10.0.0.2", NoMX: true}, false},
		{"10.0.0.2:25", Hop{Host: "10.0.0.2", Port: 25, NoMX: true}, false},
		{"[::1]:25", Hop{Host: "::1", Port: 25, NoMX: true}, false},
		{"", Hop{}, true},
		{"[]:25", Hop{}, true},
		{"[a]x", Hop{}, true},
		{"host:", Hop{}, true},
		{"host:0", Hop{}, true},
		{"a b", Hop{}, true},
		{"user@host", Hop{}, true},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseHop(tc.in)
			if (err != nil) != tc.wantErr || got != tc.want {
				t.Errorf("ParseHop = %+v, %v", got, err)
			}
			if err == nil {
				if back, _ := ParseHop(got.String()); back != got {
					t.Errorf("String %q does not round-trip", got.String())
				}
			}
		})
	}
}
