package config

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"
)

func TestParseErrorsCarryLines(t *testing.T) {
	tests := []struct {
		name, src, want string
	}{
		{"unknown top-level key", "hostname = \"mx.test\"\nhostnme = \"x\"\n", "f.toml:2: unknown key \"hostnme\""},
		{"unknown key in table", "[listen]\nsmtp = [\"127.0.0.1:25\"]\nimap4 = []\n", "f.toml:3: unknown key \"listen.imap4\""},
		{"syntax", "hostname = \n", "f.toml:1:"},
		{"bad duration", "[smtp]\n\ntimeout = \"soon\"\n", "f.toml:3:"},
		{"bad size", "[smtp]\nmessage_size_limit = \"10Q\"\n", "f.toml:2:"},
		{"bad network", "mynetworks = [\"10.0.0.0/33\"]\n", "f.toml:1: mynetworks"},
		{"bad listen", "[listen]\nsmtp = [\"nope\"]\n", "f.toml:2: listen.smtp"},
		{"cert without key", "[tls]\ncert_file = \"/x\"\n", "f.toml:2: tls.cert_file"},
		{"tiny line length", "[smtp]\nmax_line_length = 10\n", "f.toml:2: smtp.max_line_length"},
		{"reserve not below total", "[imap]\nmax_connections = 100\nreserved_connections = 100\n", "f.toml:3: imap.reserved_connections"},
		{"negative reserve", "[pop3]\nreserved_connections = -1\n", "f.toml:2: pop3.reserved_connections"},
		{"no per-network room", "[smtp]\nmax_connections_per_network = 0\n", "f.toml:2: smtp.max_connections_per_network"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("f.toml", []byte(tc.src))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.want)
			}
			var es Errors
			if !errors.As(err, &es) {
				t.Fatalf("err is %T, want Errors", err)
			}
		})
	}
}

func TestParseValues(t *testing.T) {
	c, err := Parse("/etc/mw/f.toml", []byte(`
hostname = "mx.test"
data_dir = "data"
mynetworks = ["192.0.2.0/24", "[2001:db8::]/32", "198.51.100.7"]
[listen]
smtp = ["127.0.0.1:2525"]
[smtp]
message_size_limit = "10M"
timeout = 30
banner = "$hostname ESMTP ready"
[delivery]
over_quota_tempfail = true
default_quota = "1G"
`))
	if err != nil {
		t.Fatal(err)
	}
	if c.DataDir != "/etc/mw/data" {
		t.Errorf("data_dir = %q (relative paths are relative to the config file)", c.DataDir)
	}
	if c.SMTP.MessageSizeLimit != 10<<20 || c.SMTP.Timeout.D() != 30*time.Second || c.Delivery.DefaultQuota != 1<<30 {
		t.Errorf("sizes/durations: %+v", c.SMTP)
	}
	if c.BannerText() != "mx.test ESMTP ready" {
		t.Errorf("banner = %q", c.BannerText())
	}
	for ip, want := range map[string]bool{"192.0.2.9": true, "2001:db8::1": true, "198.51.100.7": true, "198.51.100.8": false, "::ffff:192.0.2.1": true, "127.0.0.1": false} {
		if got := c.InMyNetworks(netip.MustParseAddr(ip)); got != want {
			t.Errorf("InMyNetworks(%s) = %v", ip, got)
		}
	}
	if !c.Delivery.Fsync || c.SMTP.MaxRecipients != 1000 || !c.SMTP.DisableVRFYCommand {
		t.Errorf("defaults lost: %+v %+v", c.Delivery, c.SMTP)
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]Size{"0": 0, "1234": 1234, "64K": 64 << 10, "2G": 2 << 30, "1t": 1 << 40, " 5 M": 5 << 20, "2GB": 2 << 30, "2GiB": 2 << 30, "512KB": 512 << 10, "7B": 7} {
		if got, err := ParseSize(in); err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v", in, got, err)
		}
	}
	for _, in := range []string{"", "-1", "1.5G", "G", "99999999999999T", "1X", "GB", "iB", "5iB"} {
		if _, err := ParseSize(in); err == nil {
			t.Errorf("ParseSize(%q) accepted", in)
		}
	}
	if s := Size(2 << 30).String(); s != "2G" {
		t.Errorf("String = %s", s)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte("hostname = \"a\"\n[smtp]\ntimeout = \"5m\"\n"))
	f.Add([]byte("mynetworks = [\"::1\"]\n[listen]\nsmtp=[\":25\"]\n"))
	f.Add([]byte("mynetworks = 127.0.0.0/8, ::1\n[smtp]\nmax_conections = 3\n"))
	f.Add([]byte("[listen]\nsmtp = \"127.0.0.1:25\"\n[[queue]]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse("f.toml", data)
		if err == nil && (c.Hostname == "" || c.SMTP.MaxLineLength < 1000) {
			t.Fatalf("invalid config accepted: %+v", c)
		}
	})
}

func FuzzParseSize(f *testing.F) {
	for _, s := range []string{"1", "10M", "2G", "-3", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		z, err := ParseSize(s)
		if err == nil && z < 0 {
			t.Fatalf("negative size %d from %q", z, s)
		}
	})
}
