package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestOutboundRouting(t *testing.T) {
	dir := t.TempDir()
	write := func(name, src string) string {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(src), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	goodT := write("transport", "example.com lmtp:unix:/run/lmtp\n* smtp:[gw.example.net]:587\n")
	badT := write("transport.bad", "# ok\nexample.com uucp:x\n")
	goodP := write("sasl_passwd", "[smtp.example.com]:587 user:pw\n")
	badP := write("sasl_passwd.bad", "[smtp.example.com]:587 nopassword\n")
	cfgPath := filepath.Join(dir, "mw.toml")
	tests := []struct {
		name, src, want string // want "" means valid
	}{
		{"defaults", "", ""},
		{"relayhost bracketed port", "[outbound]\nrelayhost = \"[smtp.example.com]:587\"\n", ""},
		{"relayhost mx", "[outbound]\nrelayhost = \"smtp.example.com\"\n", ""},
		{"relayhost ip", "[outbound]\nrelayhost = \"[10.0.0.2]\"\n", ""},
		{"relayhost bad port", "[outbound]\ntls = \"may\"\nrelayhost = \"[smtp.example.com]:x\"\n", "mw.toml:3: outbound.relayhost: next hop \"[smtp.example.com]:x\": bad port"},
		{"relayhost unclosed", "[outbound]\nrelayhost = \"[smtp.example.com\"\n", "mw.toml:2: outbound.relayhost:"},
		{"files", "[outbound]\ntransport_file = \"transport\"\nrelayhost_password_file = \"" + goodP + "\"\n", ""},
		{"bad transport", "[outbound]\n\ntransport_file = \"" + badT + "\"\n", "mw.toml:3: outbound.transport_file: " + badT + ":2: unknown transport \"uucp\""},
		{"missing transport", "[outbound]\ntransport_file = \"nope\"\n", "mw.toml:2: outbound.transport_file: transport table: open " + filepath.Join(dir, "nope")},
		{"bad passwords", "[outbound]\nrelayhost_password_file = \"" + badP + "\"\n", "mw.toml:2: outbound.relayhost_password_file: " + badP + ":1: entry for"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse(cfgPath, []byte(tc.src))
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				if tc.name == "files" && (c.Outbound.TransportFile != goodT || c.Outbound.RelayhostPasswordFile != goodP) {
					t.Errorf("paths not resolved against the config file: %+v", c.Outbound)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}
