package directory

import (
	"context"
	"errors"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"mailwarden/internal/sqldb"
)

func newTestDir(t *testing.T) *Directory {
	t.Helper()
	db, err := sqldb.Open(context.Background(), filepath.Join(t.TempDir(), "t.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return New(db)
}

func TestResolve(t *testing.T) {
	ctx := context.Background()
	d := newTestDir(t)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(d.AddDomain(ctx, Domain{Name: "a.test", Active: true}))
	must(d.AddDomain(ctx, Domain{Name: "b.test", Active: true}))
	must(d.AddDomain(ctx, Domain{Name: "alias.test", AliasOf: "a.test", Active: true}))
	must(d.AddDomain(ctx, Domain{Name: "backup.test", BackupMX: true, Active: true}))
	must(d.AddDomain(ctx, Domain{Name: "off.test", Active: false}))
	d.SetRelayDomains(func(dom string) bool { return dom == "gw.test" || dom == "a.test" })
	for _, u := range []string{"alice@a.test", "bob@a.test", "carol@b.test"} {
		_, err := d.AddMailbox(ctx, Mailbox{Username: u, PasswordHash: "x", Active: true})
		must(err)
	}
	_, err := d.AddMailbox(ctx, Mailbox{Username: "gone@a.test", PasswordHash: "x", Active: false})
	must(err)
	must(d.AddAlias(ctx, "team@a.test", []string{"alice@a.test", "bob@a.test", "ext@far.test"}))
	must(d.AddAlias(ctx, "@b.test", []string{"carol@b.test"}))
	must(d.AddAlias(ctx, "loop1@a.test", []string{"loop2@a.test"}))
	must(d.AddAlias(ctx, "loop2@a.test", []string{"loop1@a.test"}))
	must(d.AddAlias(ctx, "self@a.test", []string{"alice@a.test", "team@a.test"}))
	must(d.AddAlias(ctx, "fwd@a.test", []string{`"x@inner.test"@far.test`}))

	tests := []struct {
		addr    string
		class   DomainClass
		want    string // sorted "kind:addr" joined by space
		wantErr error
	}{
		{"alice@a.test", Virtual, "0:alice@a.test", nil},
		{"Alice@A.TEST", Virtual, "0:alice@a.test", nil},
		{"alice+tag@a.test", Virtual, "0:alice@a.test", nil},
		{"nobody@a.test", Virtual, "", ErrUnknownUser},
		{"gone@a.test", Virtual, "", ErrUnknownUser},
		{"team@a.test", Virtual, "0:alice@a.test 0:bob@a.test 1:ext@far.test", nil},
		{"team+x@a.test", Virtual, "0:alice@a.test 0:bob@a.test 1:ext@far.test", nil},
		{"anything@b.test", Virtual, "0:carol@b.test", nil},
		{"carol@b.test", Virtual, "0:carol@b.test", nil},
		{"bob@alias.test", AliasDomain, "0:bob@a.test", nil},
		{"team@alias.test", AliasDomain, "0:alice@a.test 0:bob@a.test 1:ext@far.test", nil},
		{"x@backup.test", BackupMX, "2:x@backup.test", nil},
		{"anyone@gw.test", BackupMX, "2:anyone@gw.test", nil}, // relay_domains
		{"nobody@a.test", Virtual, "", ErrUnknownUser},        // a database domain wins
		{"x@sub.gw.test", Foreign, "1:x@sub.gw.test", nil},    // no subdomain match
		{"x@off.test", Foreign, "1:x@off.test", nil},
		{"x@far.test", Foreign, "1:x@far.test", nil},
		{"loop1@a.test", Virtual, "", ErrUnknownUser},
		{"self@a.test", Virtual, "0:alice@a.test 0:bob@a.test 1:ext@far.test", nil},
		{"bad", Foreign, "", ErrBadAddress},
		// RFC 5321 4.1.2: a quoted local part leaves as written; ours are
		// looked up unquoted.
		{`"x@inner.test"@remote.test`, Foreign, `1:"x@inner.test"@remote.test`, nil},
		{`"John Doe"@far.test`, Foreign, `1:"John Doe"@far.test`, nil},
		{`"x@y"@backup.test`, BackupMX, `2:"x@y"@backup.test`, nil},
		{`"alice"@a.test`, Virtual, "0:alice@a.test", nil},
		{`"x@inner.test"@a.test`, Virtual, "", ErrUnknownUser},
		{"fwd@a.test", Virtual, `1:"x@inner.test"@far.test`, nil},
		{`"unterminated@far.test`, Foreign, "", ErrBadAddress},
	}
	for _, tc := range tests {
		t.Run(tc.addr, func(t *testing.T) {
			r, err := d.Resolve(ctx, tc.addr, "+")
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if r.Class != tc.class {
				t.Errorf("class = %v, want %v", r.Class, tc.class)
			}
			var got []string
			for _, d := range r.Destinations {
				got = append(got, strings.Join([]string{string(rune('0' + d.Kind)), d.Address}, ":"))
			}
			sort.Strings(got)
			if s := strings.Join(got, " "); s != tc.want {
				t.Errorf("destinations = %q, want %q", s, tc.want)
			}
		})
	}
}

func TestDomainLifecycle(t *testing.T) {
	ctx := context.Background()
	d := newTestDir(t)
	if err := d.AddDomain(ctx, Domain{Name: "a.test", Active: true}); err != nil {
		t.Fatal(err)
	}
	if err := d.AddDomain(ctx, Domain{Name: "A.test", Active: true}); !errors.Is(err, ErrExists) {
		t.Fatalf("duplicate domain: err = %v", err)
	}
	if err := d.AddDomain(ctx, Domain{Name: "x.test", AliasOf: "nowhere.test", Active: true}); err == nil {
		t.Fatal("alias of a missing domain was accepted")
	}
	if _, err := d.AddMailbox(ctx, Mailbox{Username: "u@nowhere.test", PasswordHash: "x"}); err == nil {
		t.Fatal("mailbox in a missing domain was accepted")
	}
	if _, err := d.AddMailbox(ctx, Mailbox{Username: "u@a.test", PasswordHash: "x", Active: true}); err != nil {
		t.Fatal(err)
	}
	if err := d.DeleteDomain(ctx, "a.test", false); err == nil {
		t.Fatal("domain with mailboxes deleted without force")
	}
	if err := d.DeleteDomain(ctx, "a.test", true); err != nil {
		t.Fatal(err)
	}
	if ms, _ := d.ListMailboxes(ctx, ""); len(ms) != 0 {
		t.Fatalf("mailboxes left: %v", ms)
	}
}

func FuzzSplit(f *testing.F) {
	for _, s := range []string{"a@b.c", "@", "a@", "@b", "a@b@c", "\"x y\"@z.test", "a@[127.0.0.1]", "ü@ü.test", "a@-b.test",
		`"x@inner.test"@remote.test`, `"a\"b@c"@d.test`, `"`, `"@`, `"\`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		local, domain, err := Split(s)
		if err != nil {
			return
		}
		if local == "" || domain == "" || strings.ContainsAny(domain, " \r\n") {
			t.Fatalf("Split(%q) = %q, %q", s, local, domain)
		}
		// The local part is kept as written, just before the '@'.
		if len(local)+1 >= len(s) || s[:len(local)] != local || s[len(local)] != '@' {
			t.Fatalf("Split(%q) = %q, %q: not the text before an '@'", s, local, domain)
		}
		if _, err := Normalize(s); err != nil {
			t.Fatalf("Normalize rejects what Split accepts: %v", err)
		}
	})
}
