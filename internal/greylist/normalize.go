package greylist

import (
	"net/netip"
	"regexp"
	"strings"
)

// maxAddr bounds the addresses kept in a triplet (RFC 5321 4.5.3.1.3
// allows 256 octets for a path; longer ones are cut, not refused).
const maxAddr = 320

// number is a run of digits standing as a word of its own, as Perl's
// \b\d+\b (postgrey) finds it.
var number = regexp.MustCompile(`\b[0-9]+\b`)

// NormalizeSender is postgrey's sender substitution: lower-case; a BATV
// address (prvs=tag=local or prvs=local=tag) keeps its local part; the
// extension after the recipient delimiter is cut (any character of delims
// starts one, "+" when delims is empty); every number standing as a word
// becomes "#", so VERP senders share one key. Beyond postgrey, an SRS
// address (SRS0=hash=tt=domain=local, SRS1=hash=fwd==hash=tt=...) keeps
// its shape with the hash and time stamp as "#". An address without "@"
// (the null sender) is only lower-cased.
func NormalizeSender(addr, delims string) string {
	addr = strings.ToLower(addr)
	if len(addr) > maxAddr {
		addr = addr[:maxAddr]
	}
	user, domain, ok := strings.Cut(addr, "@")
	if !ok {
		return addr
	}
	if strings.HasPrefix(user, "prvs=") {
		user = batvLocal(user)
	}
	if strings.HasPrefix(user, "srs0=") || strings.HasPrefix(user, "srs1=") {
		user = srs(user)
	} else {
		if delims == "" {
			delims = "+"
		}
		if i := strings.IndexAny(user, delims); i >= 0 {
			user = user[:i]
		}
	}
	user = number.ReplaceAllString(user, "#")
	return user + "@" + domain
}

// batvLocal is the local part of a BATV address. RFC-less but widespread:
// prvs=TAG=local, where TAG is 10 characters (key digit, 3-digit day, 6
// hex digits); some signers put it last. With neither or both looking like
// a tag, the standard order wins.
func batvLocal(user string) string {
	p := strings.Split(user, "=")
	if len(p) != 3 {
		return user
	}
	tag := func(s string) bool {
		if len(s) < 10 {
			return false
		}
		for i := 0; i < 10; i++ {
			c := s[i]
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z') {
				return false
			}
		}
		return true
	}
	switch {
	case tag(p[1]) && !tag(p[2]):
		return p[2]
	case tag(p[2]) && !tag(p[1]):
		return p[1]
	}
	return p[2]
}

// srs replaces the per-message parts of an SRS local part (the hash and
// the time stamp) with "#": SRS0=HHH=TT=domain=local and
// SRS1=HHH=forwarder==HHH=TT=domain=local.
func srs(user string) string {
	p := strings.Split(user, "=")
	switch {
	case p[0] == "srs0" && len(p) >= 5:
		p[1], p[2] = "#", "#"
	case p[0] == "srs1" && len(p) >= 7 && p[3] == "":
		p[1], p[4], p[5] = "#", "#", "#"
	default:
		return user
	}
	return strings.Join(p, "=")
}

// ClientNet is the client's network in a triplet: the address masked to
// v4 (IPv4) or v6 (IPv6) bits, as postgrey's lookup_by_subnet.
func ClientNet(ip netip.Addr, v4, v6 int) netip.Prefix {
	ip = ip.Unmap()
	bits := v6
	if ip.Is4() {
		bits = v4
	}
	p, err := ip.Prefix(bits)
	if err != nil {
		return netip.PrefixFrom(ip, ip.BitLen())
	}
	return p
}

// normalizeRecipient is the recipient as a triplet keeps it: lower-case,
// bounded.
func normalizeRecipient(addr string) string {
	addr = strings.ToLower(addr)
	if len(addr) > maxAddr {
		addr = addr[:maxAddr]
	}
	return addr
}

// domainOf is the part after the last "@" ("" when there is none).
func domainOf(addr string) string {
	if i := strings.LastIndexByte(addr, '@'); i >= 0 {
		return addr[i+1:]
	}
	return ""
}
