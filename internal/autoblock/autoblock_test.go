package autoblock

import (
	"context"
	"net/netip"
	"path/filepath"
	"reflect"
	"sync"
	"testing"
	"time"

	"mailwarden/internal/anvil"
	"mailwarden/internal/block"
	"mailwarden/internal/config"
	"mailwarden/internal/event"
	"mailwarden/internal/sqldb"
)

type recorder struct {
	mu  sync.Mutex
	evs []*event.AutoBlocked
}

func (r *recorder) Publish(ev event.Event) {
	if e, ok := ev.(*event.AutoBlocked); ok {
		r.mu.Lock()
		r.evs = append(r.evs, e)
		r.mu.Unlock()
	}
}

func setup(t *testing.T, toml string) (*Blocker, *block.Store, *recorder, *[][]string) {
	t.Helper()
	db, err := sqldb.Open(context.Background(), filepath.Join(t.TempDir(), "m.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	cfg, err := config.Parse("t.toml", []byte("data_dir = \"/tmp/x\"\n"+toml))
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	bs := block.NewStore(db)
	b := New(Options{Config: func() *config.Config { return cfg }, Counts: anvil.NewStore(db), Blocks: bs, Events: rec})
	var ran [][]string
	b.exec = func(_ context.Context, argv []string) ([]byte, error) {
		ran = append(ran, argv)
		return nil, nil
	}
	b.now = func() time.Time { return time.Unix(1_800_000_000, 0) }
	return b, bs, rec, &ran
}

func blocked(t *testing.T, bs *block.Store, ip string) (block.Entry, bool) {
	t.Helper()
	set, _, err := bs.Load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return set.Lookup(netip.MustParseAddr(ip), time.Unix(1_800_000_001, 0))
}

func TestOffend(t *testing.T) {
	const on = "[autoblock]\nenabled = true\nauth_lockouts = 1\nerror_limits = 2\nrate_limits = 3\npregreets = 0\nignore_networks = [\"198.51.100.0/24\"]\n"
	for _, tc := range []struct {
		name    string
		toml    string
		ip      string
		cause   string
		times   int
		blocked bool
	}{
		{"one lockout blocks", on, "192.0.2.7", CauseAuth, 1, true},
		{"one error session does not", on, "192.0.2.7", CauseErrors, 1, false},
		{"two do", on, "192.0.2.7", CauseErrors, 2, true},
		{"rate limits: three", on, "192.0.2.7", CauseRate, 3, true},
		{"threshold 0 never", on, "192.0.2.7", CausePregreet, 5, false},
		{"mynetworks never", on, "127.0.0.1", CauseAuth, 3, false},
		{"ignore_networks never", on, "198.51.100.9", CauseAuth, 3, false},
		{"disabled", "[autoblock]\nauth_lockouts = 1\n", "192.0.2.7", CauseAuth, 3, false},
		{"v6 blocks the /64", on, "2001:db8:1:2::7", CauseAuth, 1, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, bs, rec, _ := setup(t, tc.toml)
			for range tc.times {
				if err := b.Offend(context.Background(), netip.MustParseAddr(tc.ip), tc.cause); err != nil {
					t.Fatal(err)
				}
			}
			e, ok := blocked(t, bs, tc.ip)
			if ok != tc.blocked {
				t.Fatalf("blocked=%v, want %v", ok, tc.blocked)
			}
			if !ok {
				if len(rec.evs) != 0 {
					t.Fatalf("events without a block: %+v", rec.evs)
				}
				return
			}
			if !e.Expires.Equal(time.Unix(1_800_000_000+3600, 0)) || len(rec.evs) != 1 || rec.evs[0].Cause != tc.cause {
				t.Fatalf("block %+v, events %+v", e, rec.evs)
			}
			if netip.MustParseAddr(tc.ip).Is6() && e.Prefix.Bits() != 64 {
				t.Fatalf("v6 block %s", e.Prefix)
			}
		})
	}
}

func TestHandleAndCommand(t *testing.T) {
	b, bs, rec, ran := setup(t, "[autoblock]\nenabled = true\nrate_limits = 2\nban_time = \"2h\"\ncommand = \"nft add element inet filter mailwarden { %a timeout %ds }\"\n")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { b.Run(ctx); close(done) }()
	peer := event.Peer{IP: netip.MustParseAddr("192.0.2.7")}
	b.Handle(&event.Connect{Client: peer})                                // not an offence
	b.Handle(&event.Lost{Kind: event.Timeout, Client: peer})              // nor this
	b.Handle(&event.RateLimited{Client: peer, Kind: event.RecipientRate}) // 1
	b.Handle(&event.TooManyConnections{Client: peer})                     // 2: blocks
	deadline := time.Now().Add(10 * time.Second)
	for {
		rec.mu.Lock()
		n := len(rec.evs)
		rec.mu.Unlock()
		if n > 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-done
	if _, ok := blocked(t, bs, "192.0.2.7"); !ok {
		t.Fatal("not blocked")
	}
	want := []string{"nft", "add", "element", "inet", "filter", "mailwarden", "{", "192.0.2.7", "timeout", "7200s", "}"}
	if len(*ran) != 1 || !reflect.DeepEqual((*ran)[0], want) {
		t.Fatalf("ran %q, want %q", *ran, want)
	}
	if rec.evs[0].Command == "" {
		t.Fatal("event does not name the command")
	}
}

func TestCommand(t *testing.T) {
	p4 := netip.MustParsePrefix("192.0.2.7/32")
	p6 := netip.MustParsePrefix("2001:db8:1:2::/64")
	for _, tc := range []struct {
		tmpl string
		p    netip.Prefix
		want []string
	}{
		{"", p4, nil},
		{"   ", p4, nil},
		{"ipset add mw %a timeout %d", p4, []string{"ipset", "add", "mw", "192.0.2.7", "timeout", "60"}},
		{"x %a", p6, []string{"x", "2001:db8:1:2::/64"}},
		{"x 100%% %q %", p4, []string{"x", "100%", "%q", "%"}},
		{"x $(rm) ;%a", p4, []string{"x", "$(rm)", ";192.0.2.7"}},
	} {
		if got := Command(tc.tmpl, tc.p, time.Minute); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Command(%q) = %q, want %q", tc.tmpl, got, tc.want)
		}
	}
}

func FuzzCommand(f *testing.F) {
	for _, s := range []string{"nft add element inet filter mw { %a timeout %ds }", "%", "%%%a%d%", "a\tb  c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, tmpl string) {
		argv := Command(tmpl, netip.MustParsePrefix("192.0.2.7/32"), time.Hour)
		for _, a := range argv {
			if a == "" {
				t.Fatalf("empty word from %q", tmpl)
			}
		}
	})
}
