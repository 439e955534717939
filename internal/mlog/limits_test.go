package mlog

import (
	"log/slog"
	"net/netip"
	"testing"
	"time"

	"mailwarden/internal/event"
)

func TestAbuseLines(t *testing.T) {
	ip := netip.MustParseAddr("192.0.2.7")
	peer := event.Peer{Host: "mx.example", IP: ip}
	for _, tc := range []struct {
		name string
		ev   event.Event
		want string
		lvl  slog.Level
	}{
		{"connection rate", &event.RateLimited{Client: peer, Kind: event.ConnectionRate, Count: 31},
			"warning: Connection rate limit exceeded: 31 from mx.example[192.0.2.7] for service smtp", slog.LevelWarn},
		{"message rate", &event.RateLimited{Client: peer, Kind: event.MessageRate, Count: 55},
			"warning: Message delivery request rate limit exceeded: 55 from mx.example[192.0.2.7] for service smtp", slog.LevelWarn},
		{"recipient rate", &event.RateLimited{Program: event.Submission, Client: peer, Kind: event.RecipientRate, Count: 3},
			"warning: Recipient address rate limit exceeded: 3 from mx.example[192.0.2.7] for service submission", slog.LevelWarn},
		{"tls rate", &event.RateLimited{Client: peer, Kind: event.NewTLSRate, Count: 4},
			"warning: New TLS session rate limit exceeded: 4 from mx.example[192.0.2.7] for service smtp", slog.LevelWarn},
		{"auth rate", &event.RateLimited{Program: event.Submissions, Client: peer, Kind: event.AuthRate, Count: 6},
			"warning: AUTH command rate limit exceeded: 6 from mx.example[192.0.2.7] for service submissions", slog.LevelWarn},
		{"pregreet", &event.Pregreet{Client: peer, Port: 5678, Bytes: 11, After: 50 * time.Millisecond, Text: `EHLO x\r\n`},
			`PREGREET 11 after 0.05 from [192.0.2.7]:5678: EHLO x\r\n`, slog.LevelInfo},
		{"autoblock", &event.AutoBlocked{Client: ip, Cause: "auth", Count: 1, Within: 10 * time.Minute, For: time.Hour},
			"warning: autoblock: blocked 192.0.2.7 for 3600s: 1 login-failure lockouts within 600s", slog.LevelWarn},
		{"lockout has no line", &event.AuthLockout{Client: ip}, "", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, lvl, ok := AppendText(nil, tc.ev, 42)
			if !ok {
				if tc.want != "" {
					t.Fatalf("no line, want %q", tc.want)
				}
				return
			}
			if string(b) != tc.want || lvl != tc.lvl {
				t.Fatalf("got %q (%v), want %q (%v)", b, lvl, tc.want, tc.lvl)
			}
		})
	}
}
