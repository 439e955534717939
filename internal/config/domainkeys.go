package config

import (
	"path/filepath"
	"strings"
)

// DomainKeys is the historic DomainKeys ([domainkeys], RFC 4870) that
// dkimproxy did beside DKIM: DomainKey-Signature fields of inbound mail
// are checked (domainkeys= in Authentication-Results), and mail from
// trusted senders of the listed domains is signed.
type DomainKeys struct {
	// Verify checks DomainKey-Signature fields of inbound mail (default
	// true).
	Verify bool `toml:"verify"`
	// SignDomains are the sender domains whose trusted mail gets a
	// DomainKey-Signature (default none); a subdomain's mail is signed
	// for its listed parent.
	SignDomains []string `toml:"sign_domains"`
	// Selector is s= (default "dk") for KeyFile, the PEM file of the RSA
	// key published at Selector._domainkey.DOMAIN for every sign_domains
	// entry, relative to the config file's directory. KeyFile "": each
	// domain's active RSA DKIM key (dkim keygen), with its selector.
	Selector string `toml:"selector"`
	KeyFile  string `toml:"key_file"`
	// Canonicalization is "nofws" (default, as dkimproxy's
	// method=nofws) or "simple".
	Canonicalization string `toml:"canonicalization"`
}

func defaultDomainKeys() DomainKeys {
	return DomainKeys{Verify: true, Selector: "dk", Canonicalization: "nofws"}
}

// validateDomainKeys checks [domainkeys].
func (c *Config) validateDomainKeys(bad func(key, format string, a ...any)) {
	d := &c.DomainKeys
	for i, dom := range d.SignDomains {
		dom = strings.ToLower(strings.TrimSuffix(strings.TrimSpace(dom), "."))
		if !dnsName(dom) || !strings.Contains(dom, ".") {
			bad("domainkeys.sign_domains", "must be domain names such as \"example.com\", got %q", d.SignDomains[i])
		}
		d.SignDomains[i] = dom
	}
	if !dnsName(d.Selector) {
		bad("domainkeys.selector", "must be a DNS label such as \"dk\", got %q", d.Selector)
	}
	switch d.Canonicalization {
	case "nofws", "simple":
	default:
		bad("domainkeys.canonicalization", "must be nofws or simple, got %q", d.Canonicalization)
	}
	if d.KeyFile != "" && !filepath.IsAbs(d.KeyFile) && c.Path != "" {
		d.KeyFile = filepath.Join(filepath.Dir(c.Path), d.KeyFile)
	}
}
