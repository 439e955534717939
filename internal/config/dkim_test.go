package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestDKIMConfig(t *testing.T) {
	d := Default().DKIM
	if !d.Verify || !d.Sign || d.Canonicalization != "relaxed/relaxed" || d.MaxSignatures != 5 || d.RotatePublishDelay.D() != 72*time.Hour {
		t.Errorf("defaults %+v", d)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "signing"), []byte("*@example.com example.com\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "keys"), []byte("example.com example.com:sel\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "mailwarden.toml")
	c, err := Parse(path, []byte(`
[dkim]
verify = false
canonicalization = "simple/relaxed"
sign_headers = ["From", "Subject"]
oversign_headers = []
signing_table = "refile:signing"
key_table = "keys"
multiple_signatures = true
signature_ttl = "24h"
rotate_publish_delay = "1h"
rotate_retire_delay = "48h"
max_signatures = 2
`))
	if err != nil {
		t.Fatal(err)
	}
	d = c.DKIM
	if d.Verify || !d.Sign || d.Canonicalization != "simple/relaxed" || len(d.SignHeaders) != 2 || len(d.OversignHeaders) != 0 ||
		d.SigningTable != "refile:"+filepath.Join(dir, "signing") || d.KeyTable != filepath.Join(dir, "keys") || !d.MultipleSignatures ||
		d.SignatureTTL.D() != 24*time.Hour || d.RotateRetireDelay.D() != 48*time.Hour || d.MaxSignatures != 2 {
		t.Errorf("parsed %+v", d)
	}
	for src, want := range map[string]string{
		"[dkim]\ncanonicalization = \"nofws\"\n":                       "dkim.canonicalization",
		"[dkim]\ncanonicalization = \"relaxed/loose\"\n":               "dkim.canonicalization",
		"[dkim]\nmax_signatures = 0\n":                                 "dkim.max_signatures",
		"[dkim]\nsign_headers = [\"From:\"]\n":                         "dkim.sign_headers",
		"[dkim]\noversign_headers = [\"\"]\n":                          "dkim.oversign_headers",
		"[dkim]\nsignature_ttl = \"-1h\"\n":                            "dkim.signature_ttl",
		"[dkim]\nkey_table = \"keys\"\n":                               "dkim.key_table",
		"[dkim]\nsigning_table = \"refile:/nonexistent/x\"\n":          "dkim.signing_table",
		"[dkim]\nsigning_table = \"hash:/nonexistent/x\"\n":            "dkim.signing_table",
		"[dkim]\nsigning_table = \"s\"\nkey_table = \"refile:keys\"\n": "dkim.key_table",
		"[dkim]\nsign_key = true\n":                                    "sign_key",
	} {
		src = strings.ReplaceAll(src, "\"s\"", "\""+filepath.Join(dir, "signing")+"\"")
		if _, err := Parse(path, []byte(src)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: error %v, want one naming %s", src, err, want)
		}
	}
}
