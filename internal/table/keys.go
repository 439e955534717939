package table

import (
	"net/netip"
	"strings"
)

// NullSenderKey is the key looked up for the null sender <>, Postfix's
// default smtpd_null_access_lookup_key.
const NullSenderKey = "<>"

// AddressKeys returns the keys access(5) tries for a mail address, in
// order: user@domain, then the domain and its parent domains (see
// DomainKeys), then user@. The address should be fully qualified, as
// Postfix's trivial-rewrite makes it; one without "@" is looked up as it
// is only. The null address gives NullSenderKey.
func AddressKeys(addr string, parentDomainMatchesSubdomains bool) []string {
	return AddressKeysDelim(addr, parentDomainMatchesSubdomains, "")
}

// AddressKeysDelim is AddressKeys with recipient_delimiter characters:
// for user+foo@domain the order becomes (access(5), EMAIL ADDRESS
// EXTENSION) user+foo@domain, user@domain, domain..., user+foo@, user@.
func AddressKeysDelim(addr string, parentDomainMatchesSubdomains bool, delimiters string) []string {
	if addr == "" {
		return []string{NullSenderKey}
	}
	at := strings.LastIndexByte(addr, '@')
	if at < 0 {
		return []string{addr}
	}
	local, domain := addr[:at], addr[at+1:]
	base := local
	if delimiters != "" {
		// Postfix splits at the first delimiter character in the localpart
		// (but a localpart that starts with it has no extension).
		if i := strings.IndexAny(local, delimiters); i > 0 {
			base = local[:i]
		}
	}
	keys := []string{addr}
	if base != local {
		keys = append(keys, base+"@"+domain)
	}
	if domain != "" {
		keys = append(keys, DomainKeys(domain, parentDomainMatchesSubdomains)...)
	}
	keys = append(keys, local+"@")
	if base != local {
		keys = append(keys, base+"@")
	}
	return keys
}

// DomainKeys returns the keys access(5) tries for a domain or host name:
// the name itself, then each parent domain, written "example.com" when
// parent_domain_matches_subdomains lists smtpd_access_maps (Postfix's
// default) and ".example.com" when it does not. Top-level domains are
// included, as Postfix includes them.
func DomainKeys(name string, parentDomainMatchesSubdomains bool) []string {
	var keys []string
	for name != "" {
		keys = append(keys, name)
		i := strings.IndexByte(name[1:], '.')
		if i < 0 {
			break
		}
		next := name[i+1:] // ".parent"
		if parentDomainMatchesSubdomains {
			next = next[1:]
		}
		name = next
	}
	return keys
}

// HostKeys returns the keys access(5) tries for a host name (HOST
// NAME/ADDRESS PATTERNS): the name, then its parent domains as DomainKeys
// writes them.
func HostKeys(host string, parentDomainMatchesSubdomains bool) []string {
	return DomainKeys(host, parentDomainMatchesSubdomains)
}

// IPKeys returns the keys access(5) tries for a client address: for IPv4
// 1.2.3.4, 1.2.3, 1.2, 1; for IPv6 the compressed form (RFC 5952, as
// inet_ntop writes it), then that string repeatedly cut at its last ":"
// as Postfix truncates it ("2001:db8::1", "2001:db8:", "2001:db8",
// "2001"). An IPv4-mapped IPv6 address is looked up as IPv4, as Postfix
// records such clients. An empty key is never returned.
func IPKeys(ip netip.Addr) []string {
	if !ip.IsValid() {
		return nil
	}
	ip = ip.Unmap().WithZone("")
	s := ip.String()
	delim := byte(':')
	if ip.Is4() {
		delim = '.'
	}
	var keys []string
	for s != "" {
		keys = append(keys, s)
		i := strings.LastIndexByte(s, delim)
		if i < 0 {
			break
		}
		s = s[:i]
	}
	return keys
}
