package config

import (
	"path/filepath"
	"strings"
)

// ARC is the Authenticated Received Chain ([arc], RFC 8617): inbound
// chains are validated (arc= in Authentication-Results, and the chain's
// sealers for DMARC's trusted-forwarder override), and mail this host
// forwards off the host is sealed.
type ARC struct {
	// Verify validates the ARC chain of inbound mail (default true).
	Verify bool `toml:"verify"`
	// Seal adds an ARC set to inbound mail forwarded to another host
	// (aliases to external addresses) when a sealing key is available:
	// key_file, else the sealing domain's active RSA DKIM key (dkim
	// keygen). Unset: true.
	Seal *bool `toml:"seal"`
	// Domain is the sealing domain d= (default: hostname without its
	// first label, "example.com" for "mx.example.com").
	Domain string `toml:"domain"`
	// Selector is s= for KeyFile: the key is published at
	// Selector._domainkey.Domain (default "arc"). A DKIM store key keeps
	// its own selector.
	Selector string `toml:"selector"`
	// KeyFile is the PEM file of the RSA sealing key (PKCS #1 or #8),
	// relative to the config file's directory; "": the DKIM key store.
	KeyFile string `toml:"key_file"`
}

func defaultARC() ARC { return ARC{Verify: true, Selector: "arc"} }

// Sealing reports whether mail is to be sealed (when a key is
// available): seal unset or true.
func (a *ARC) Sealing() bool { return a.Seal == nil || *a.Seal }

// SealDomain is Domain, or the hostname's parent domain when it has one.
func (c *Config) SealDomain() string {
	if c.ARC.Domain != "" {
		return strings.ToLower(strings.TrimSuffix(c.ARC.Domain, "."))
	}
	h := strings.ToLower(strings.TrimSuffix(c.Hostname, "."))
	if _, parent, ok := strings.Cut(h, "."); ok && strings.Contains(parent, ".") {
		return parent
	}
	return h
}

// validateARC checks [arc].
func (c *Config) validateARC(bad func(key, format string, a ...any)) {
	a := &c.ARC
	if a.Domain != "" && !dnsName(strings.TrimSuffix(a.Domain, ".")) {
		bad("arc.domain", "must be a domain name such as \"example.com\", got %q", a.Domain)
	}
	if !dnsName(a.Selector) {
		bad("arc.selector", "must be a DNS label such as \"arc\" or \"2026a\", got %q", a.Selector)
	}
	if a.KeyFile != "" && !filepath.IsAbs(a.KeyFile) && c.Path != "" {
		a.KeyFile = filepath.Join(filepath.Dir(c.Path), a.KeyFile)
	}
}

// dnsName accepts letters, digits, hyphens and underscores in dotted
// labels of 1 to 63 characters.
func dnsName(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for _, l := range strings.Split(s, ".") {
		if l == "" || len(l) > 63 || strings.Trim(l, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_") != "" {
			return false
		}
	}
	return true
}
