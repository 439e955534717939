package config

import (
	"strings"
	"time"
)

// DMARC is [dmarc]: evaluation of inbound mail (RFC 7489) and aggregate
// reports, what OpenDMARC and its opendmarc-reports job do. The keys are
// described in docs/config.md and docs/msgauth.md.
type DMARC struct {
	// Enabled evaluates DMARC on inbound mail (default true).
	Enabled bool `toml:"enabled"`
	// Enforce applies the published policy: a p=reject failure is
	// refused in the session (550 5.7.1), p=quarantine goes to
	// QuarantineFolder (default true; false only records dmarc=fail, as
	// OpenDMARC's RejectFailures=false does).
	Enforce bool `toml:"enforce"`
	// QuarantineFolder is where p=quarantine failures are filed ("Junk").
	QuarantineFolder string `toml:"quarantine_folder"`
	// Override replaces the published policy for mail whose From domain
	// (or its organizational domain) is a key: "none", "quarantine" or
	// "reject". E.g. { "partner.example" = "none" }.
	Override map[string]string `toml:"override"`
	// RejectMultipleFrom refuses, when Enforce is on, a message whose
	// From field names several addresses or that has several From
	// fields: DMARC cannot pick the domain whose policy applies (RFC 7489
	// 6.6.1), so such a message could slip past a p=reject (default
	// true; OpenDMARC's RejectMultiValueFrom).
	RejectMultipleFrom bool `toml:"reject_multiple_from"`
	// ARCTrustedSealers are ARC sealing domains (d= of ARC-Seal) whose
	// valid chain lifts a DMARC failure (RFC 7489 6.7, RFC 8617 7.2):
	// when the chain passes and its newest seal is by one of them.
	ARCTrustedSealers []string `toml:"arc_trusted_sealers"`
	// SendReports records every evaluated message and sends aggregate
	// reports to the rua= addresses of the policy domains (default false).
	SendReports bool `toml:"send_reports"`
	// ReportFrom is the From of the reports we send ("": noreply-dmarc@
	// hostname); ReportOrgName names us in them ("": hostname).
	ReportFrom    string `toml:"report_from"`
	ReportOrgName string `toml:"report_org_name"`
	// ReportInterval is the span one aggregate report covers, aligned to
	// UTC midnight: it must divide a day (default 24h).
	ReportInterval Duration `toml:"report_interval"`
	// ReportMailbox is a local address that receives the aggregate reports
	// others send about our domains (the address our rua= names); its new
	// messages are read, stored and removed from its INBOX ("": none).
	ReportMailbox string `toml:"report_mailbox"`
	// OrgDomain is how the organizational domain of a name is found, for
	// policy discovery and relaxed alignment: "treewalk" (default, the
	// DMARCbis DNS tree walk, RFC 9989 4.10) or "psl" (the public suffix
	// list built into the binary, RFC 7489 3.2).
	OrgDomain string `toml:"org_domain"`
	// KeepDays is how long recorded results and received reports are kept
	// (default 60).
	KeepDays int `toml:"keep_days"`
}

func defaultDMARC() DMARC {
	return DMARC{Enabled: true, Enforce: true, RejectMultipleFrom: true, QuarantineFolder: "Junk",
		ReportInterval: Duration(24 * time.Hour), KeepDays: 60, OrgDomain: "treewalk"}
}

// OverrideFor returns the local policy for a From domain: the override
// of the domain itself, else of orgDomain; "" when none.
func (d *DMARC) OverrideFor(domain, orgDomain string) string {
	if p, ok := d.Override[strings.ToLower(domain)]; ok {
		return p
	}
	return d.Override[strings.ToLower(orgDomain)]
}

// DMARCReportFrom is the address DMARC reports are sent from.
func (c *Config) DMARCReportFrom() string {
	if c.DMARC.ReportFrom != "" {
		return c.DMARC.ReportFrom
	}
	return "noreply-dmarc@" + c.Hostname
}

// DMARCReportOrg is the org_name of the reports we send.
func (c *Config) DMARCReportOrg() string {
	if c.DMARC.ReportOrgName != "" {
		return c.DMARC.ReportOrgName
	}
	return c.Hostname
}

// validateDMARC checks [dmarc].
func (c *Config) validateDMARC(bad func(key, format string, a ...any)) {
	d := &c.DMARC
	if d.QuarantineFolder == "" || strings.ContainsAny(d.QuarantineFolder, "\r\n\x00") {
		bad("dmarc.quarantine_folder", "must be a folder name, got %q", d.QuarantineFolder)
	}
	lower := make(map[string]string, len(d.Override))
	for dom, p := range d.Override {
		switch strings.ToLower(p) {
		case "none", "quarantine", "reject":
		default:
			bad("dmarc.override", "%s: must be none, quarantine or reject, got %q", dom, p)
		}
		lower[strings.ToLower(strings.TrimSuffix(dom, "."))] = strings.ToLower(p)
	}
	d.Override = lower
	for i, s := range d.ARCTrustedSealers {
		if s == "" || strings.ContainsAny(s, " \t\r\n@") {
			bad("dmarc.arc_trusted_sealers", "%q is not a domain", s)
		}
		d.ARCTrustedSealers[i] = strings.ToLower(strings.TrimSuffix(s, "."))
	}
	for _, f := range []struct{ key, v string }{{"dmarc.report_from", d.ReportFrom}, {"dmarc.report_mailbox", d.ReportMailbox}} {
		if f.v != "" && (strings.ContainsAny(f.v, " \t\r\n<>,") || strings.LastIndexByte(f.v, '@') <= 0) {
			bad(f.key, "must be an address, got %q", f.v)
		}
	}
	if strings.ContainsAny(d.ReportOrgName, "\r\n<>&") {
		bad("dmarc.report_org_name", "must be one line without <, > or &")
	}
	if iv := d.ReportInterval.D(); iv < time.Second || iv > 24*time.Hour || (24*time.Hour)%iv != 0 || iv%time.Second != 0 {
		bad("dmarc.report_interval", "must be whole seconds dividing 24h (24h, 12h, 1h...), got %s", iv)
	}
	switch strings.ToLower(d.OrgDomain) {
	case "", "treewalk", "psl":
		d.OrgDomain = strings.ToLower(d.OrgDomain)
	default:
		bad("dmarc.org_domain", "must be \"treewalk\" or \"psl\", got %q", d.OrgDomain)
	}
	if d.KeepDays < 1 {
		bad("dmarc.keep_days", "must be at least 1, got %d", d.KeepDays)
	}
}
