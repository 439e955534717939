package config

import (
	"strings"
	"time"
)

// DNSKnobs are Postfix's parameters for the DNS-based restrictions, in
// [restrictions] under their Postfix names.
type DNSKnobs struct {
	// DefaultRBLReply is default_rbl_reply: the reply template of
	// reject_rbl_client and the reject_rhsbl_* restrictions.
	DefaultRBLReply string `toml:"default_rbl_reply"`
	// RBLReplyMaps is rbl_reply_maps: tables ("texthash:/etc/...")
	// keyed by the DNS list as written in the restriction, whose value is
	// a reply template.
	RBLReplyMaps []string `toml:"rbl_reply_maps"`
	// MapsRBLRejectCode is maps_rbl_reject_code ($rbl_code).
	MapsRBLRejectCode int `toml:"maps_rbl_reject_code"`
	// MapsRBLDomains is maps_rbl_domains, the lists of the obsolete
	// reject_maps_rbl.
	MapsRBLDomains []string `toml:"maps_rbl_domains"`
	// UnknownAddressRejectCode is unknown_address_reject_code
	// (reject_unknown_sender_domain, reject_unknown_recipient_domain).
	UnknownAddressRejectCode int `toml:"unknown_address_reject_code"`
	// UnknownHostnameRejectCode is unknown_hostname_reject_code
	// (reject_unknown_helo_hostname).
	UnknownHostnameRejectCode int `toml:"unknown_hostname_reject_code"`
	// UnknownClientRejectCode is unknown_client_reject_code
	// (reject_unknown_client_hostname).
	UnknownClientRejectCode int `toml:"unknown_client_reject_code"`
	// UnknownAddressTempfailAction and UnknownHeloHostnameTempfailAction
	// are what a temporary DNS failure does: "defer_if_permit" (Postfix's
	// reject_tempfail_action default) or "defer".
	UnknownAddressTempfailAction      string `toml:"unknown_address_tempfail_action"`
	UnknownHeloHostnameTempfailAction string `toml:"unknown_helo_hostname_tempfail_action"`
	// SoftBounce is soft_bounce: every 5xx a restriction list answers
	// becomes the 4xx of the same class.
	SoftBounce bool `toml:"soft_bounce"`
}

// DefaultRBLReply is Postfix's default_rbl_reply.
const DefaultRBLReply = "$rbl_code Service unavailable; $rbl_class [$rbl_what] blocked using $rbl_domain${rbl_reason?; $rbl_reason}"

// DefaultDNSKnobs are Postfix's defaults.
func DefaultDNSKnobs() DNSKnobs {
	return DNSKnobs{
		DefaultRBLReply:                   DefaultRBLReply,
		MapsRBLRejectCode:                 554,
		UnknownAddressRejectCode:          450,
		UnknownHostnameRejectCode:         450,
		UnknownClientRejectCode:           450,
		UnknownAddressTempfailAction:      "defer_if_permit",
		UnknownHeloHostnameTempfailAction: "defer_if_permit",
	}
}

// Postscreen is postscreen(8)'s DNSBL test: at connect, every list in
// DNSBLSites is asked in parallel (for at most DNSBLTimeout); the weights
// of those that list the client add up, and a score of DNSBLThreshold or
// more is acted on by DNSBLAction.
type Postscreen struct {
	// DNSBLSites is postscreen_dnsbl_sites: "domain[=filter][*weight]".
	DNSBLSites []string `toml:"dnsbl_sites"`
	// DNSBLThreshold is postscreen_dnsbl_threshold (default 1).
	DNSBLThreshold int `toml:"dnsbl_threshold"`
	// DNSBLAllowlistThreshold is postscreen_dnsbl_allowlist_threshold
	// (default 0: off): a score at or below it (negative) lets the
	// client skip the smtpd_client restrictions' DNS lists.
	DNSBLAllowlistThreshold int `toml:"dnsbl_allowlist_threshold"`
	// DNSBLAction is postscreen_dnsbl_action: "ignore" (log only),
	// "enforce" (550 to every RCPT) or "drop" (521 and hang up).
	DNSBLAction string `toml:"dnsbl_action"`
	// DNSBLTimeout is postscreen_dnsbl_timeout (default 10s).
	DNSBLTimeout    Duration `toml:"dnsbl_timeout"`
	PostscreenGreet          // the pregreet test (postscreen_greet.go)
}

// DefaultPostscreen has Postfix's defaults.
func DefaultPostscreen() Postscreen {
	return Postscreen{DNSBLThreshold: 1, DNSBLAction: "ignore", DNSBLTimeout: Duration(10 * time.Second),
		PostscreenGreet: defaultPostscreenGreet()}
}

func (c *Config) validateDNSKnobs(bad func(key, format string, a ...any)) {
	k := &c.Restrictions.DNSKnobs
	for key, code := range map[string]int{"maps_rbl_reject_code": k.MapsRBLRejectCode, "unknown_address_reject_code": k.UnknownAddressRejectCode,
		"unknown_hostname_reject_code": k.UnknownHostnameRejectCode, "unknown_client_reject_code": k.UnknownClientRejectCode} {
		if code < 400 || code > 599 {
			bad("restrictions."+key, "must be a 4xx or 5xx reply code, got %d", code)
		}
	}
	for key, a := range map[string]string{"unknown_address_tempfail_action": k.UnknownAddressTempfailAction,
		"unknown_helo_hostname_tempfail_action": k.UnknownHeloHostnameTempfailAction} {
		if a != "defer" && a != "defer_if_permit" {
			bad("restrictions."+key, "must be defer or defer_if_permit, got %q", a)
		}
	}
	if strings.TrimSpace(k.DefaultRBLReply) == "" {
		bad("restrictions.default_rbl_reply", "must not be empty")
	}
	p := &c.Postscreen
	switch p.DNSBLAction {
	case "ignore", "enforce", "drop":
	default:
		bad("postscreen.dnsbl_action", "must be ignore, enforce or drop, got %q", p.DNSBLAction)
	}
	if p.DNSBLTimeout <= 0 {
		bad("postscreen.dnsbl_timeout", "must be positive")
	}
	if p.DNSBLThreshold < 1 {
		bad("postscreen.dnsbl_threshold", "must be 1 or more, got %d", p.DNSBLThreshold)
	}
	if p.DNSBLAllowlistThreshold > 0 {
		bad("postscreen.dnsbl_allowlist_threshold", "must be 0 (off) or negative, got %d", p.DNSBLAllowlistThreshold)
	}
}
