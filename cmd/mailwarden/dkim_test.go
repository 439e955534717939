package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDKIMCommands: keygen prints the record (name, value, zone-file
// lines), refuses a second key of a type, rotate prints the new record
// and the schedule, show and list tell each key's state.
func TestDKIMCommands(t *testing.T) {
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "mailwarden.toml")
	conf := fmt.Sprintf("hostname = \"mx.test.example\"\ndata_dir = %q\n[dkim]\nrotate_publish_delay = \"2h\"\nrotate_retire_delay = \"24h\"\n", filepath.Join(dir, "data"))
	if err := os.WriteFile(cfgPath, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	mw := func(args ...string) (int, string, string) {
		var o, e bytes.Buffer
		code := run(append([]string{"-config", cfgPath}, args...), strings.NewReader(""), &o, &e)
		return code, o.String(), e.String()
	}
	code, out, errOut := mw("dkim", "keygen", "Example.COM", "--algo", "ed25519", "--selector", "ed1")
	lines := strings.Split(out, "\n")
	if code != 0 || lines[0] != "ed1._domainkey.example.com." || !strings.HasPrefix(lines[1], "v=DKIM1; k=ed25519; p=") || lines[2] != "" ||
		lines[3] != "ed1._domainkey.example.com.\tIN\tTXT\t( \""+lines[1]+"\" )" || !strings.Contains(errOut, "signs mail") {
		t.Fatalf("keygen: %d\n%s\n%s", code, out, errOut)
	}
	if code, _, errOut := mw("dkim", "keygen", "example.com", "--algo", "ed25519"); code != 1 || !strings.Contains(errOut, "dkim rotate") {
		t.Errorf("a second ed25519 key: %d %s", code, errOut)
	}
	for _, bad := range [][]string{{"dkim", "keygen"}, {"dkim", "keygen", "example.com", "--algo", "dsa"}, {"dkim", "show"}, {"dkim", "frob"}, {"dkim", "keygen", "not_a_domain"}} {
		if code, _, _ := mw(bad...); code == 0 {
			t.Errorf("%v succeeded", bad)
		}
	}
	if code, _, errOut := mw("dkim", "rotate", "example.com", "--algo", "rsa2048"); code != 1 || !strings.Contains(errOut, "keygen") {
		t.Errorf("rotating a type without a key: %d %s", code, errOut)
	}
	code, out, errOut = mw("dkim", "rotate", "example.com")
	if code != 0 || !strings.HasPrefix(out, "mw") || !strings.Contains(out, "v=DKIM1; k=ed25519; p=") ||
		!strings.Contains(out, "; publish the record above now:") || !strings.Contains(out, "; ed1 stops signing then; remove its record ed1._domainkey.example.com. after ") {
		t.Fatalf("rotate: %d\n%s\n%s", code, out, errOut)
	}
	code, out, _ = mw("dkim", "show", "example.com")
	if code != 0 || !strings.Contains(out, "; example.com ed1 ed25519: active, retires at ") || !strings.Contains(out, "ed25519: published, signs from ") {
		t.Errorf("show:\n%s", out)
	}
	code, out, _ = mw("dkim", "list")
	if code != 0 || !strings.HasPrefix(out, "DOMAIN") || strings.Count(out, "example.com") != 2 || !strings.Contains(out, "published") {
		t.Errorf("list:\n%s", out)
	}
	if code, _, errOut := mw("dkim", "show", "other.example"); code != 1 || !strings.Contains(errOut, "no DKIM key") {
		t.Errorf("show without keys: %d %s", code, errOut)
	}
}
