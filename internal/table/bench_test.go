package table

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// BenchmarkLookup reports the cost of one lookup in a 10,000-entry table
// of each kind (hash: is a map; regexp: and cidr: try rules in order, so
// the miss is their worst case).
func BenchmarkLookup(b *testing.B) {
	var hash, re, cidr strings.Builder
	for i := range 10000 {
		fmt.Fprintf(&hash, "user%d@example%d.com OK\n", i, i%100)
	}
	for i := range 100 {
		fmt.Fprintf(&re, "/^user%d@example[0-9]+\\.com$/ REJECT\n", i)
		fmt.Fprintf(&cidr, "10.%d.0.0/16 REJECT\n", i)
	}
	dir := b.TempDir()
	for _, c := range []struct{ typ, text, key string }{
		{"hash", hash.String(), "user5000@example0.com"},
		{"hash", hash.String(), "nobody@nowhere.example"},
		{"regexp", re.String(), "nobody@nowhere.example"},
		{"pcre", re.String(), "nobody@nowhere.example"},
		{"cidr", cidr.String(), "192.0.2.1"},
	} {
		p := filepath.Join(dir, c.typ)
		if err := os.WriteFile(p, []byte(c.text), 0o600); err != nil {
			b.Fatal(err)
		}
		tab, err := Open(c.typ+":"+p, Options{})
		if err != nil {
			b.Fatal(err)
		}
		b.Run(c.typ+"/"+c.key, func(b *testing.B) {
			ctx := context.Background()
			for b.Loop() {
				tab.Lookup(ctx, c.key)
			}
		})
	}
}
