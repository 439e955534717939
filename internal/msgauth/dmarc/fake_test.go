package dmarc

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"sync/atomic"

	"mailwarden/internal/dnsx"
)

// fakeDNS answers from maps: TXT by name, names that exist (MX/A), and
// names whose lookups fail temporarily.
type fakeDNS struct {
	txt     map[string][]string
	exists  map[string]bool
	temp    map[string]bool
	queries atomic.Int64
}

func (f *fakeDNS) LookupTXT(_ context.Context, name string) ([]string, error) {
	f.queries.Add(1)
	name = strings.ToLower(name)
	if f.temp[name] {
		return nil, fmt.Errorf("fake: TXT %s: %w", name, dnsx.ErrTemporary)
	}
	if t, ok := f.txt[name]; ok {
		return t, nil
	}
	return nil, fmt.Errorf("fake: TXT %s: %w", name, dnsx.ErrNotFound)
}

func (f *fakeDNS) LookupMX(_ context.Context, name string) ([]dnsx.MX, error) {
	if f.exists[strings.ToLower(name)] {
		return []dnsx.MX{{Host: "mx." + name, Pref: 10}}, nil
	}
	return nil, fmt.Errorf("fake: MX %s: %w", name, dnsx.ErrNotFound)
}

func (f *fakeDNS) LookupIP(_ context.Context, name string) ([]netip.Addr, error) {
	if f.exists[strings.ToLower(name)] {
		return []netip.Addr{netip.MustParseAddr("192.0.2.1")}, nil
	}
	return nil, fmt.Errorf("fake: A %s: %w", name, dnsx.ErrNotFound)
}

func (f *fakeDNS) LookupPTR(context.Context, netip.Addr) ([]string, error) {
	return nil, dnsx.ErrNotFound
}
