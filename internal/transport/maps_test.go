package transport

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"mailwarden/internal/table"
)

func TestTyped(t *testing.T) {
	for _, c := range []struct {
		spec, typ string
		ok        bool
	}{
		{"/etc/postfix/transport", "", false},
		{"transport", "", false},
		{"hash:/etc/postfix/transport", "hash", true},
		{"proxy:sqlite:/etc/x.cf", "sqlite", true},
		{"c:/odd/path", "", false},
		{"inline:{ a=b }", "inline", true},
	} {
		typ, _, ok := Typed(c.spec)
		if typ != c.typ || ok != c.ok {
			t.Errorf("Typed(%q) = %q, %v; want %q, %v", c.spec, typ, ok, c.typ, c.ok)
		}
	}
}

// TestMapTypes: the same routes from a plain path (checked strictly),
// hash:, inline: and pcre: (full address only, with $1).
func TestMapTypes(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	plain := write("transport", sample)
	cases := []struct {
		spec   string
		probes map[string]string // address -> nexthop ("-": no route)
	}{
		{plain, map[string]string{"user@example.com": "unix:/run/lmtp", "x@a.deep.example.com": "[deep.example.net]", "x@elsewhere.test": "[fallback.example.net]"}},
		{"hash:" + plain, map[string]string{"USER@example.com": "unix:/run/lmtp", "x@deep.example.com": "sub-relay.example.net"}},
		{"inline:{ example.com=smtp:[a.example], .example.com=relay:[b.example] }", map[string]string{"x@example.com": "[a.example]", "x@sub.example.com": "[b.example]", "x@other.test": "-"}},
		{"pcre:" + write("transport.pcre", "/^(\\w+)@(?!internal\\.)(\\S+)$/ smtp:[$2]:2525\n/@internal\\./ lmtp:unix:/run/lmtp\n"), map[string]string{
			"joe@example.org": "[example.org]:2525", "joe@internal.example": "unix:/run/lmtp", "example.org": "-"}},
	}
	for _, c := range cases {
		m, err := OpenMap(c.spec, table.Options{})
		if err != nil {
			t.Fatalf("%s: %v", c.spec, err)
		}
		for addr, want := range c.probes {
			r, ok, err := m.Route(context.Background(), addr)
			got := r.Nexthop
			if !ok {
				got = "-"
			}
			if err != nil || got != want {
				t.Errorf("%s: Route(%q) = %q, %v; want %q", c.spec, addr, got, err, want)
			}
		}
	}
	// A typed table with a result that is not transport:nexthop fails the
	// lookup (a temporary failure); a plain file with it does not open.
	m, err := OpenMap("inline:{ example.com=bogus }", table.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := m.Route(context.Background(), "a@example.com"); err == nil || !strings.Contains(err.Error(), "want transport:nexthop") {
		t.Errorf("bad result: err %v", err)
	}
	if _, err := OpenMap(write("broken", "example.com bogus\n"), table.Options{}); err == nil || !strings.Contains(err.Error(), "broken:1:") {
		t.Errorf("broken plain file: err %v", err)
	}
}

// TestMapReloads: an edited plain transport file applies after the check
// interval; a broken edit keeps the last good table and is logged.
func TestMapReloads(t *testing.T) {
	path := filepath.Join(t.TempDir(), "transport")
	var mu sync.Mutex
	now := time.Unix(1_700_000_000, 0)
	var logs []string
	opts := table.Options{
		Now: func() time.Time { mu.Lock(); defer mu.Unlock(); return now },
		Logf: func(f string, a ...any) {
			mu.Lock()
			defer mu.Unlock()
			logs = append(logs, f)
		},
	}
	write := func(src string) {
		t.Helper()
		if err := os.WriteFile(path+".new", []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(path+".new", path); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := OpenMap(path, opts); err == nil {
		t.Fatal("missing file opened")
	}
	write("example.com smtp:[one]\n")
	m, err := OpenMap(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name, write string
		advance     time.Duration
		want        string
	}{
		{"opened", "", 0, "[one]"},
		{"edited within the second", "example.com smtp:[two]\n", 500 * time.Millisecond, "[one]"},
		{"a second later", "", time.Second, "[two]"},
		{"broken edit keeps the table", "example.com bogus\n", 2 * time.Second, "[two]"},
		{"fixed", "example.com smtp:[three]\n", 2 * time.Second, "[three]"},
	}
	for _, s := range steps {
		if s.write != "" {
			write(s.write)
		}
		mu.Lock()
		now = now.Add(s.advance)
		mu.Unlock()
		r, _, err := m.Route(context.Background(), "a@example.com")
		if err != nil || r.Nexthop != s.want {
			t.Fatalf("%s: got %q, %v; want %q", s.name, r.Nexthop, err, s.want)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(logs) != 1 {
		t.Errorf("%d reload failures logged, want 1: %q", len(logs), logs)
	}
}

func TestPasswordMap(t *testing.T) {
	dir := t.TempDir()
	plain := filepath.Join(dir, "sasl_passwd")
	if err := os.WriteFile(plain, []byte("[smtp.example.com]:587 alice:s3cr:et\nrelay.example.net bob:pw\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, spec := range []string{plain, "hash:" + plain, "inline:{ {[smtp.example.com]:587 = alice:s3cr:et}, relay.example.net=bob:pw, nopass.example=carol }"} {
		p, err := OpenPasswords(spec, table.Options{})
		if err != nil {
			t.Fatalf("%s: %v", spec, err)
		}
		for _, c := range []struct {
			hop, user, pass string
			ok              bool
		}{
			{"[smtp.example.com]:587", "alice", "s3cr:et", true},
			{"[SMTP.example.com]:587", "alice", "s3cr:et", true},
			{"[smtp.example.com]:25", "", "", false},
			{"[relay.example.net]:587", "bob", "pw", true},
		} {
			cr, ok, err := p.Credentials(context.Background(), c.hop)
			if err != nil || ok != c.ok || cr.Username != c.user || cr.Password != c.pass {
				t.Errorf("%s: Credentials(%q) = %+v, %v, %v", spec, c.hop, cr, ok, err)
			}
		}
	}
	p, _ := OpenPasswords("inline:{ nopass.example=carol }", table.Options{})
	if cr, ok, _ := p.Credentials(context.Background(), "nopass.example"); !ok || cr.Username != "carol" || cr.Password != "" {
		t.Errorf("value without a colon: %+v, %v (Postfix: empty password)", cr, ok)
	}
	if _, err := OpenPasswords(filepath.Join(dir, "missing"), table.Options{}); err == nil {
		t.Error("missing plain file opened")
	}
}
