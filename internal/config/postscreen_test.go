package config

import (
	"strings"
	"testing"
	"time"
)

func TestDNSKnobsAndPostscreen(t *testing.T) {
	c, err := Parse("f.toml", []byte(`
[restrictions]
recipient = ["reject_rbl_client zen.example"]
maps_rbl_reject_code = 550
rbl_reply_maps = ["texthash:/etc/mailwarden/rbl_reply"]
unknown_address_tempfail_action = "defer"
soft_bounce = true
[postscreen]
dnsbl_sites = ["zen.example*2", "list.example=127.0.0.[2..4]"]
dnsbl_threshold = 2
dnsbl_action = "enforce"
dnsbl_timeout = "3s"
`))
	if err != nil {
		t.Fatal(err)
	}
	k := c.Restrictions.DNSKnobs
	if k.MapsRBLRejectCode != 550 || len(k.RBLReplyMaps) != 1 || k.UnknownAddressTempfailAction != "defer" || !k.SoftBounce ||
		k.UnknownAddressRejectCode != 450 || k.DefaultRBLReply != DefaultRBLReply || k.UnknownHeloHostnameTempfailAction != "defer_if_permit" {
		t.Errorf("knobs = %+v", k)
	}
	p := c.Postscreen
	if len(p.DNSBLSites) != 2 || p.DNSBLThreshold != 2 || p.DNSBLAction != "enforce" || p.DNSBLTimeout.D() != 3*time.Second {
		t.Errorf("postscreen = %+v", p)
	}
	for src, want := range map[string]string{
		"[restrictions]\nunknown_client_reject_code = 250\n":        "unknown_client_reject_code",
		"[restrictions]\nunknown_address_tempfail_action = \"x\"\n": "unknown_address_tempfail_action",
		"[postscreen]\ndnsbl_action = \"block\"\n":                  "dnsbl_action",
		"[postscreen]\ndnsbl_allowlist_threshold = 1\n":             "dnsbl_allowlist_threshold",
		"[postscreen]\ndnsbl_threshold = 0\n":                       "dnsbl_threshold",
		"[restrictions]\ndefault_rbl_reply = \" \"\n":               "default_rbl_reply",
	} {
		if _, err := Parse("f.toml", []byte(src)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: error %v, want one naming %s", src, err, want)
		}
	}
}
