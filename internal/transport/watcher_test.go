package transport

import (
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

func TestWatcherReloads(t *testing.T) {
	path := filepath.Join(t.TempDir(), "transport")
	var mu sync.Mutex
	now := time.Unix(1_700_000_000, 0)
	w := NewWatcher(path)
	w.now = func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	mtime := time.Unix(1_600_000_000, 0)
	write := func(src string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		mtime = mtime.Add(time.Second)
		if err := os.Chtimes(path, mtime, mtime); err != nil {
			t.Fatal(err)
		}
	}
	lookup := func() (string, error) {
		tab, err := w.Table()
		if tab == nil {
			return "", err
		}
		r, _ := tab.Lookup("a@example.com")
		return r.Nexthop, err
	}

	steps := []struct {
		name    string
		write   string // "" keeps the file
		advance time.Duration
		want    string
		wantErr bool
	}{
		{"missing file", "", 0, "", true},
		{"still missing", "", 2 * time.Second, "", true},
		{"created", "example.com smtp:[one]\n", 2 * time.Second, "[one]", false},
		{"edited within the second", "example.com smtp:[two]\n", 500 * time.Millisecond, "[one]", false},
		{"a second later", "", time.Second, "[two]", false},
		{"broken edit keeps the table", "example.com bogus\n", 2 * time.Second, "[two]", true},
		{"error reported once", "", 2 * time.Second, "[two]", false},
		{"fixed", "example.com smtp:[three]\n", 2 * time.Second, "[three]", false},
	}
	for _, s := range steps {
		if s.write != "" {
			write(s.write)
		}
		advance(s.advance)
		got, err := lookup()
		if got != s.want || (err != nil) != s.wantErr {
			t.Fatalf("%s: got %q, %v; want %q (error %v)", s.name, got, err, s.want, s.wantErr)
		}
	}
}

func TestWatcherConcurrent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "transport")
	if err := os.WriteFile(path, []byte("* local:\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	w := NewWatcher(path)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				tab, err := w.Table()
				if err != nil || tab == nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
}
