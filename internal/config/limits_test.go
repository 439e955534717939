package config

import (
	"net/netip"
	"strings"
	"testing"
	"time"
)

func TestLimitsParse(t *testing.T) {
	for _, tc := range []struct {
		name, toml string
		check      func(*Config) string
		err        string
	}{
		{name: "defaults", toml: "", check: func(c *Config) string {
			s := c.SMTP
			if s.ClientConnectionRateLimit != 0 || s.RateTimeUnit.D() != time.Minute || s.SoftErrorLimit != 10 || s.ErrorSleepTime.D() != time.Second {
				return "smtp limits defaults"
			}
			if c.Postscreen.GreetAction != "ignore" || c.Postscreen.GreetTTL.D() != 24*time.Hour || c.Autoblock.Enabled {
				return "postscreen/autoblock defaults"
			}
			if !c.EventLimitExempt(netip.MustParseAddr("127.0.0.1")) || c.EventLimitExempt(netip.MustParseAddr("192.0.2.1")) {
				return "exceptions default to mynetworks"
			}
			return ""
		}},
		{name: "set", toml: "[smtp]\nclient_connection_rate_limit = 3\nclient_recipient_rate_limit = 5\nrate_time_unit = \"1h\"\nclient_event_limit_exceptions = []\n[postscreen]\ngreet_action = \"drop\"\ngreet_wait = \"2s\"\n[autoblock]\nenabled = true\nignore_networks = [\"192.0.2.0/24\"]\ncommand = \"nft add element inet filter mailwarden { %a timeout %ds }\"\n",
			check: func(c *Config) string {
				if c.SMTP.ClientConnectionRateLimit != 3 || c.SMTP.ClientRecipientRateLimit != 5 || c.SMTP.RateTimeUnit.D() != time.Hour {
					return "smtp limits"
				}
				if c.EventLimitExempt(netip.MustParseAddr("127.0.0.1")) {
					return "an empty exception list still exempts mynetworks"
				}
				if c.Postscreen.GreetAction != "drop" || c.Postscreen.GreetWait.D() != 2*time.Second {
					return "postscreen"
				}
				if !c.AutoblockIgnored(netip.MustParseAddr("192.0.2.9")) || !c.AutoblockIgnored(netip.MustParseAddr("127.0.0.1")) || c.AutoblockIgnored(netip.MustParseAddr("198.51.100.1")) {
					return "autoblock ignore"
				}
				return ""
			}},
		{name: "negative", toml: "[smtp]\nclient_message_rate_limit = -1\n", err: "smtp.client_message_rate_limit"},
		{name: "unit", toml: "[smtp]\nrate_time_unit = \"1500ms\"\n", err: "smtp.rate_time_unit"},
		{name: "bad exception", toml: "[smtp]\nclient_event_limit_exceptions = [\"nope\"]\n", err: "client_event_limit_exceptions"},
		{name: "greet action", toml: "[postscreen]\ngreet_action = \"always\"\n", err: "postscreen.greet_action"},
		{name: "find time", toml: "[autoblock]\nfind_time = \"0s\"\n", err: "autoblock.find_time"},
		{name: "command lines", toml: "[autoblock]\ncommand = \"a\\nb\"\n", err: "autoblock.command"},
		{name: "unknown", toml: "[autoblock]\nbantime = \"1h\"\n", err: "unknown key"},
		{name: "misspelt embedded key", toml: "[smtp]\nclient_recipent_rate_limit = 3\n", err: "did you mean client_recipient_rate_limit?"},
		{name: "wrong type of an embedded key", toml: "[smtp]\nsoft_error_limit = \"ten\"\n", err: "smtp.soft_error_limit"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse("t.toml", []byte("data_dir = \"/tmp/x\"\n"+tc.toml))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if msg := tc.check(c); msg != "" {
				t.Error(msg)
			}
		})
	}
}
