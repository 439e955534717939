package table

import (
	"fmt"
	"net/netip"
	"strings"
)

// parseCIDR reads cidr_table(5) text:
//
//	network/prefix   result
//	address          result      (a single host)
//	!network/prefix  result      (matches addresses outside it)
//	if network/prefix            (or if !network/prefix)
//	endif
//
// IPv4 and IPv6; an address may be written in [ ]. A network with host
// bits set is an error, as it is for Postfix. A rule only ever applies to
// keys of its own address family: "!10.0.0.0/8" matches 192.0.2.1 but not
// 2001:db8::1 nor a key that is no address (as Postfix's cidr: does).
func parseCIDR(path string, data []byte) (Table, error) {
	lines, err := logicalLines(path, data)
	if err != nil {
		return nil, err
	}
	var rs []rule
	n := &nester{path: path}
	for _, l := range lines {
		r, err := parseCIDRLine(l.text)
		if err != nil {
			return nil, fmt.Errorf("%s, line %d: %w", path, l.line, err)
		}
		if err := n.add(&rs, r, l.line); err != nil {
			return nil, err
		}
	}
	if err := n.done(); err != nil {
		return nil, err
	}
	return &ruleTable{rules: rs, cidr: true, path: path}, nil
}

func parseCIDRLine(s string) (rule, error) {
	r, s, done, err := ruleHead(s)
	if done || err != nil {
		return r, err
	}
	pat, rest, _ := strings.Cut(s, " ")
	if i := strings.IndexByte(pat, '\t'); i >= 0 {
		pat, rest = pat[:i], pat[i+1:]+" "+rest
	}
	rest = strings.TrimSpace(rest)
	pfx, err := parseNetwork(pat)
	if err != nil {
		return rule{}, err
	}
	is4 := pfx.Addr().Is4()
	r.match = func(k *lookupKey) ([]string, bool, bool, error) {
		if !k.isIP || k.addr.Is4() != is4 {
			return nil, false, false, nil
		}
		return nil, pfx.Contains(k.addr), true, nil
	}
	if r.kind == kindIf {
		if rest != "" {
			return rule{}, fmt.Errorf("extra text after if network: %q", rest)
		}
		return r, nil
	}
	if rest == "" {
		return rule{}, fmt.Errorf("no result after %q", pat)
	}
	r.result = []piece{{text: rest}}
	return r, nil
}

// parseNetwork reads "addr/len", "[addr]/len", "addr" or "[addr]".
func parseNetwork(pat string) (netip.Prefix, error) {
	addr, bits, hasBits := strings.Cut(pat, "/")
	if strings.HasPrefix(addr, "[") && strings.HasSuffix(addr, "]") {
		addr = addr[1 : len(addr)-1]
	}
	a, err := netip.ParseAddr(addr)
	if err != nil || a.Zone() != "" {
		return netip.Prefix{}, fmt.Errorf("bad network address %q", pat)
	}
	if !hasBits {
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	p, err := netip.ParsePrefix(a.String() + "/" + bits)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("bad network prefix %q: %v", pat, err)
	}
	if p.Masked() != p {
		return netip.Prefix{}, fmt.Errorf("non-null host address bits in %q, perhaps you should use %s instead", pat, p.Masked())
	}
	return p, nil
}
