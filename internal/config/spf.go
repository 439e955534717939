package config

import (
	"net/netip"
	"strings"
	"time"
)

// SPF is [spf]: SPF checks (RFC 7208) on the MX service, with the knobs
// of policyd-spf (postfix-policyd-spf-python) under snake_case names and
// its defaults. The verdict is recorded on every inbound message
// (Received-SPF, Authentication-Results); refusing mail on it is the
// check_spf restriction's job.
type SPF struct {
	// Enable turns SPF checking on for the MX service (default true).
	// Submission and pickup never check SPF.
	Enable bool `toml:"enable"`
	// HeloReject is policyd-spf's HELO_reject: what check_spf refuses on
	// the HELO identity — "fail" (default), "softfail" (fail and
	// softfail), "spf_not_pass" (anything but pass, none and the errors),
	// "null" (fail, only for the null sender), "false" (never refuse,
	// record only) or "no_check" (do not check HELO).
	HeloReject string `toml:"helo_reject"`
	// MailFromReject is Mail_From_reject, the same for the MAIL FROM
	// identity: "fail" (default), "softfail", "spf_not_pass", "false",
	// "no_check".
	MailFromReject string `toml:"mail_from_reject"`
	// PermErrorReject is PermError_reject: refuse a PermError (550 5.7.24;
	// default false).
	PermErrorReject bool `toml:"permerror_reject"`
	// TempErrorDefer is TempError_Defer: defer a TempError (450 4.7.24;
	// default false).
	TempErrorDefer bool `toml:"temperror_defer"`
	// SkipAddresses are clients never checked (skip_addresses; default
	// the loopback networks).
	SkipAddresses []string `toml:"skip_addresses"`
	// Whitelist are client addresses or networks never checked
	// (Whitelist).
	Whitelist []string `toml:"whitelist"`
	// DomainWhitelist are domains whose SPF record, when it passes the
	// client, exempts it from checks (Domain_Whitelist).
	DomainWhitelist []string `toml:"domain_whitelist"`
	// HeaderType is Header_Type: "spf" (default) prepends Received-SPF;
	// "ar" and "none" do not. The results are recorded for
	// Authentication-Results (and DMARC) in every case.
	HeaderType string `toml:"header_type"`
	// LookupTime is Lookup_Time: the longest one SPF evaluation may take,
	// DNS included (default 20s; RFC 7208 4.6.4 asks for at least 20s).
	LookupTime Duration `toml:"lookup_time"`
	// VoidLimit is Void_Limit: void lookups allowed per check (default 2,
	// RFC 7208 4.6.4).
	VoidLimit int `toml:"void_limit"`
	// LookupLimit is the number of DNS-querying terms allowed per check
	// (default 10, RFC 7208 4.6.4).
	LookupLimit int `toml:"lookup_limit"`
}

// DefaultSPF is [spf] when the file does not set a key: policyd-spf's
// defaults.
func DefaultSPF() SPF {
	return SPF{
		Enable:         true,
		HeloReject:     "fail",
		MailFromReject: "fail",
		SkipAddresses:  []string{"127.0.0.0/8", "::ffff:127.0.0.0/104", "::1"},
		HeaderType:     "spf",
		LookupTime:     Duration(20 * time.Second),
		VoidLimit:      2,
		LookupLimit:    10,
	}
}

// SPFExempt returns the networks of skip_addresses and whitelist (a bare
// address is a /32 or /128); the config was validated, so errors are
// skipped.
func (s *SPF) SPFExempt() []netip.Prefix {
	var out []netip.Prefix
	for _, list := range [][]string{s.SkipAddresses, s.Whitelist} {
		for _, a := range list {
			if p, err := parsePrefixOrAddr(a); err == nil {
				out = append(out, p)
			}
		}
	}
	return out
}

func parsePrefixOrAddr(s string) (netip.Prefix, error) {
	s = strings.Trim(strings.TrimSpace(s), "[]")
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		return p.Masked(), err
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

func (c *Config) validateSPF(bad func(key, format string, a ...any)) {
	s := &c.SPF
	s.HeloReject = strings.ToLower(s.HeloReject)
	s.MailFromReject = strings.ToLower(s.MailFromReject)
	s.HeaderType = strings.ToLower(s.HeaderType)
	switch s.HeloReject {
	case "fail", "softfail", "spf_not_pass", "null", "false", "no_check":
	default:
		bad("spf.helo_reject", "%q: want fail, softfail, spf_not_pass, null, false or no_check", s.HeloReject)
	}
	switch s.MailFromReject {
	case "fail", "softfail", "spf_not_pass", "false", "no_check":
	default:
		bad("spf.mail_from_reject", "%q: want fail, softfail, spf_not_pass, false or no_check", s.MailFromReject)
	}
	switch s.HeaderType {
	case "spf", "ar", "none":
	default:
		bad("spf.header_type", "%q: want spf, ar or none", s.HeaderType)
	}
	for _, k := range []struct {
		key  string
		list []string
	}{{"spf.skip_addresses", s.SkipAddresses}, {"spf.whitelist", s.Whitelist}} {
		for _, a := range k.list {
			if _, err := parsePrefixOrAddr(a); err != nil {
				bad(k.key, "%q: want an address or a network (192.0.2.0/24)", a)
			}
		}
	}
	for _, d := range s.DomainWhitelist {
		if !strings.Contains(d, ".") || strings.ContainsAny(d, " @/") {
			bad("spf.domain_whitelist", "%q: want a domain name", d)
		}
	}
	if s.LookupTime.D() < time.Second || s.LookupTime.D() > 5*time.Minute {
		bad("spf.lookup_time", "must be from 1s to 5m")
	}
	if s.VoidLimit < 1 || s.VoidLimit > 100 {
		bad("spf.void_limit", "must be from 1 to 100")
	}
	if s.LookupLimit < 1 || s.LookupLimit > 100 {
		bad("spf.lookup_limit", "must be from 1 to 100")
	}
}
