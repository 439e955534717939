package login

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	"mailwarden/internal/config"
)

func TestDecodePlain(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		z, c, p  string
		wantErr  error
	}{
		{"no authzid", "\x00alice@example.org\x00secret", "", "alice@example.org", "secret", nil},
		{"same authzid", "alice@example.org\x00alice@example.org\x00pw", "alice@example.org", "alice@example.org", "pw", nil},
		{"authzid differs in case only", "Alice@Example.org\x00alice@example.org\x00pw", "Alice@Example.org", "alice@example.org", "pw", nil},
		{"spaces and UTF-8 in password", "\x00u\x00p w ü", "", "u", "p w ü", nil},
		{"proxy auth", "bob@example.org\x00alice@example.org\x00pw", "", "", "", ErrAuthzid},
		{"one NUL", "alice\x00secret", "", "", "", ErrMalformed},
		{"no NUL", "alicesecret", "", "", "", ErrMalformed},
		{"three NULs", "\x00alice\x00sec\x00ret", "", "", "", ErrMalformed},
		{"NUL in password", "\x00alice\x00\x00", "", "", "", ErrMalformed},
		{"empty user", "\x00\x00secret", "", "", "", ErrMalformed},
		{"empty password", "\x00alice\x00", "", "", "", ErrMalformed},
		{"empty", "", "", "", "", ErrMalformed},
		{"too long", "\x00alice\x00" + strings.Repeat("x", 2000), "", "", "", ErrMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			z, c, p, err := DecodePlain([]byte(tc.in))
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) || z != "" || c != "" || p != "" {
					t.Fatalf("got (%q, %q, %q, %v), want %v", z, c, p, err, tc.wantErr)
				}
				return
			}
			if err != nil || z != tc.z || c != tc.c || p != tc.p {
				t.Fatalf("got (%q, %q, %q, %v), want (%q, %q, %q)", z, c, p, err, tc.z, tc.c, tc.p)
			}
		})
	}
}

func TestPlaintextAllowed(t *testing.T) {
	on := config.Default()
	on.Auth.AllowPlaintextLoopback = true
	off := config.Default()
	for _, tc := range []struct {
		name string
		tls  bool
		ip   string
		cfg  *config.Config
		want bool
	}{
		{"TLS remote", true, "192.0.2.1", off, true},
		{"TLS nil config", true, "192.0.2.1", nil, true},
		{"plain remote", false, "192.0.2.1", on, false},
		{"plain loopback, allowed", false, "127.0.0.1", on, true},
		{"plain loopback v6, allowed", false, "::1", on, true},
		{"plain mapped loopback, allowed", false, "::ffff:127.0.0.5", on, true},
		{"plain loopback, not allowed", false, "127.0.0.1", off, false},
		{"plain nil config", false, "127.0.0.1", nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := PlaintextAllowed(tc.tls, netip.MustParseAddr(tc.ip), tc.cfg); got != tc.want {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestLogSafe(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"alice@example.org", "alice@example.org"},
		{"a\x00b\x7fc", "a?b?c"},
		{"<x>", "?x?"},
		{"\xff", "?"},
		{strings.Repeat("a", 150), strings.Repeat("a", 100) + "..."},
	} {
		if got := LogSafe(tc.in); got != tc.want {
			t.Errorf("LogSafe(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
