package block

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Entry is one block: the network, why, since when, and until when (zero
// Expires: permanent).
type Entry struct {
	Prefix  netip.Prefix
	Reason  string
	Created time.Time
	Expires time.Time
}

// Active reports whether e applies at now.
func (e Entry) Active(now time.Time) bool {
	return e.Expires.IsZero() || now.Before(e.Expires)
}

// maxReason bounds the reason text an admin may store.
const maxReason = 200

// ParsePrefix reads a network as an admin types it: "203.0.113.0/24",
// "2001:db8::/32", or a bare address (a /32 or /128). Host bits are
// cleared, zones are refused, and an IPv4-mapped IPv6 network
// (::ffff:192.0.2.0/120) is the IPv4 network it maps, as clients are
// matched by their unmapped address.
func ParsePrefix(s string) (netip.Prefix, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return netip.Prefix{}, errors.New("block: empty network")
	}
	var p netip.Prefix
	if strings.Contains(s, "/") {
		var err error
		if p, err = netip.ParsePrefix(s); err != nil {
			return netip.Prefix{}, fmt.Errorf("block: bad network %q: %w", s, err)
		}
	} else {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("block: bad address %q: %w", s, err)
		}
		if a.Zone() != "" {
			return netip.Prefix{}, fmt.Errorf("block: address %q has a zone", s)
		}
		p = netip.PrefixFrom(a, a.BitLen())
	}
	a, bits := p.Addr(), p.Bits()
	if a.Is4In6() {
		if bits < 96 {
			return netip.Prefix{}, fmt.Errorf("block: %q mixes IPv4-mapped and other IPv6 addresses", s)
		}
		a, bits = a.Unmap(), bits-96
	}
	return netip.PrefixFrom(a, bits).Masked(), nil
}

// CheckReason refuses reason texts that would break a log line or table.
func CheckReason(r string) error {
	if len(r) > maxReason {
		return fmt.Errorf("block: reason longer than %d bytes", maxReason)
	}
	for _, c := range r {
		if c < ' ' || c == 0x7f {
			return errors.New("block: reason has control characters")
		}
	}
	return nil
}

// Set is an immutable collection of blocks, safe for concurrent lookups.
// The zero value (and nil) blocks nothing.
type Set struct {
	// lens4 and lens6 are the prefix lengths in use, longest first;
	// byPrefix holds every entry by its masked prefix.
	lens4, lens6 []int
	byPrefix     map[netip.Prefix]Entry
	entries      []Entry
}

// NewSet builds a Set of es (later duplicates of a prefix win).
func NewSet(es []Entry) *Set {
	s := &Set{byPrefix: make(map[netip.Prefix]Entry, len(es))}
	seen4, seen6 := map[int]bool{}, map[int]bool{}
	for _, e := range es {
		if !e.Prefix.IsValid() {
			continue
		}
		p := e.Prefix.Masked()
		e.Prefix = p
		s.byPrefix[p] = e
		if p.Addr().Is4() {
			if !seen4[p.Bits()] {
				seen4[p.Bits()] = true
				s.lens4 = append(s.lens4, p.Bits())
			}
		} else if !seen6[p.Bits()] {
			seen6[p.Bits()] = true
			s.lens6 = append(s.lens6, p.Bits())
		}
	}
	for _, e := range s.byPrefix {
		s.entries = append(s.entries, e)
	}
	slices.SortFunc(s.entries, func(a, b Entry) int { return comparePrefix(a.Prefix, b.Prefix) })
	desc := func(a, b int) int { return b - a }
	slices.SortFunc(s.lens4, desc)
	slices.SortFunc(s.lens6, desc)
	return s
}

func comparePrefix(a, b netip.Prefix) int {
	if c := a.Addr().Compare(b.Addr()); c != 0 {
		return c
	}
	return a.Bits() - b.Bits()
}

// Lookup returns the most specific block covering ip that is active at
// now. IPv4-mapped IPv6 addresses match as the IPv4 address they carry;
// zones are ignored.
func (s *Set) Lookup(ip netip.Addr, now time.Time) (Entry, bool) {
	if s == nil || len(s.byPrefix) == 0 || !ip.IsValid() {
		return Entry{}, false
	}
	ip = ip.Unmap().WithZone("")
	lens := s.lens6
	if ip.Is4() {
		lens = s.lens4
	}
	for _, n := range lens {
		p, err := ip.Prefix(n)
		if err != nil {
			continue
		}
		if e, ok := s.byPrefix[p]; ok && e.Active(now) {
			return e, true
		}
	}
	return Entry{}, false
}

// Entries returns the blocks sorted by network (expired ones included).
func (s *Set) Entries() []Entry {
	if s == nil {
		return nil
	}
	return slices.Clone(s.entries)
}

// Len is the number of blocks, expired ones included.
func (s *Set) Len() int {
	if s == nil {
		return 0
	}
	return len(s.entries)
}

// maxFor bounds --for: a block meant to last longer is permanent.
const maxFor = 100 * 365 * 24 * time.Hour

// ParseFor reads how long a block lasts: a Go duration ("90m", "24h",
// "1h30m") or a whole number of days or weeks ("7d", "2w", as Postfix
// writes time units). It must be positive and under 100 years.
func ParseFor(s string) (time.Duration, error) {
	var d time.Duration
	if n := len(s); n > 1 && (s[n-1] == 'd' || s[n-1] == 'w') {
		k, err := strconv.ParseInt(s[:n-1], 10, 32)
		if err != nil || k <= 0 {
			return 0, fmt.Errorf("block: bad duration %q: want e.g. 24h, 7d, 2w", s)
		}
		unit := 24 * time.Hour
		if s[n-1] == 'w' {
			unit *= 7
		}
		d = time.Duration(k) * unit
	} else {
		var err error
		if d, err = time.ParseDuration(s); err != nil {
			return 0, fmt.Errorf("block: bad duration %q: want e.g. 24h, 7d, 2w", s)
		}
	}
	if d <= 0 || d > maxFor {
		return 0, fmt.Errorf("block: duration %q out of range (above 0, below 100 years)", s)
	}
	return d, nil
}
