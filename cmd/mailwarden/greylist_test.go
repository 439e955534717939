package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// check-config knows check_greylist, wants it in the data list when the
// tarpit is on, and reads the whitelist files.
func TestGreylistConfigChecks(t *testing.T) {
	dir := t.TempDir()
	wl := filepath.Join(dir, "clients")
	if err := os.WriteFile(wl, []byte("example.org\n/(unclosed/\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, toml, wantErr string
	}{
		{"greylist only", "[restrictions]\nrecipient = [\"check_greylist\", \"permit\"]\n", ""},
		{"argument", "[restrictions]\nrecipient = [\"check_greylist now\"]\n", "takes no argument"},
		{"tarpit without data", "[restrictions]\nrecipient = [\"check_greylist\"]\n[greylist]\ntarpit = \"2s\"\n", "must also stand in restrictions.data"},
		{"tarpit with data", "[restrictions]\nrecipient = [\"check_greylist\"]\ndata = [\"check_greylist\"]\n[greylist]\ntarpit = \"2s\"\n", ""},
		{"tarpit with end_of_data", "[restrictions]\nrecipient = [\"check_greylist\"]\nend_of_data = [\"check_greylist\"]\n[greylist]\ntarpit = \"2s\"\n", ""},
		{"tarpit too long", "[greylist]\ntarpit = \"5m\"\n", "greylist.tarpit"},
		{"bad whitelist", "[greylist]\nwhitelist_clients = [\"" + wl + "\"]\n", wl + ":2: "},
		{"missing whitelist", "[greylist]\nwhitelist_recipients = [\"" + wl + ".none\"]\n", "no such file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "_")+".toml")
			body := "hostname = \"mx.test\"\ndata_dir = \"" + dir + "/data\"\n" + tc.toml
			if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := loadServerConfig(path)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("error %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("error %v, want one with %q", err, tc.wantErr)
			}
		})
	}
}
