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

// BenchmarkRCPTStage reports what one check_recipient_access (or
// check_sender_access) adds at RCPT: every access(5) key of an address
// (user+ext@sub.domain, user@sub.domain, sub.domain, domain, user+ext@,
// user@) looked up in turn, in a 100,000-line hash: table, a 1,000-pattern
// regexp: table and a 1,000-pattern pcre: table (one in ten with a
// look-ahead, so on the backtracking engine), and in a sqlite: table. The
// miss is the worst case: every key is tried and, for the pattern tables,
// every pattern.
func BenchmarkRCPTStage(b *testing.B) {
	dir := b.TempDir()
	var hash, re, pcre strings.Builder
	for i := range 100000 {
		fmt.Fprintf(&hash, "user%d@example%d.com REJECT listed\n", i, i%1000)
	}
	for i := range 1000 {
		fmt.Fprintf(&re, "/^user%d@(mail\\.)?example[0-9]+\\.com$/ REJECT listed\n", i)
		if i%10 == 0 {
			fmt.Fprintf(&pcre, "/^(?!postmaster)user%d@(\\w+)\\.example\\.com$/ REJECT listed $1\n", i)
		} else {
			fmt.Fprintf(&pcre, "/^user%d@(\\w+)\\.example\\.com$/ REJECT listed $1\n", i)
		}
	}
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			b.Fatal(err)
		}
		return p
	}
	db := filepath.Join(dir, "access.db")
	{
		s := sqlOpenForBench(b, db)
		tx, err := s.Begin()
		if err != nil {
			b.Fatal(err)
		}
		for i := range 100000 {
			if _, err := tx.Exec(`INSERT INTO access VALUES (?, 'REJECT listed')`, fmt.Sprintf("user%d@example%d.com", i, i%1000)); err != nil {
				b.Fatal(err)
			}
		}
		if err := tx.Commit(); err != nil {
			b.Fatal(err)
		}
		s.Close()
	}
	specs := []string{
		"hash:" + write("hash", hash.String()),
		"regexp:" + write("regexp", re.String()),
		"pcre:" + write("pcre", pcre.String()),
		"sqlite:" + write("sqlite.cf", "dbpath = "+db+"\nquery = SELECT v FROM access WHERE k = '%s'\n"),
	}
	for _, spec := range specs {
		tab, err := Open(spec, Options{})
		if err != nil {
			b.Fatal(err)
		}
		typ, _, _ := strings.Cut(spec, ":")
		hit := "user999@example999.com" // the last regexp: pattern
		if typ == "pcre" {
			hit = "user999@mail.example.com"
		}
		for _, c := range []struct{ name, addr string }{
			{"miss", "someone+tag@mail.nowhere.example.org"},
			{"hit", hit},
		} {
			keys := AddressKeysDelim(c.addr, false, "+")
			b.Run(typ+"/"+c.name, func(b *testing.B) {
				ctx := context.Background()
				for b.Loop() {
					for _, k := range keys {
						if _, ok, err := tab.Lookup(ctx, k); err != nil {
							b.Fatal(err)
						} else if ok {
							break
						}
					}
				}
			})
		}
		Close(tab)
	}
}
