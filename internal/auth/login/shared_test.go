package login

import (
	"context"
	"errors"
	"net/netip"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"mailwarden/internal/event"
	"mailwarden/internal/sqldb"
)

type lockouts struct {
	mu  sync.Mutex
	got []*event.AuthLockout
}

func (l *lockouts) Publish(ev event.Event) {
	if e, ok := ev.(*event.AuthLockout); ok {
		l.mu.Lock()
		l.got = append(l.got, e)
		l.mu.Unlock()
	}
}

// Two authenticators on one database (two nodes) share the failures and
// the lockout; Unlock lifts it.
func TestLockoutShared(t *testing.T) {
	ctx := context.Background()
	db, err := sqldb.Open(ctx, filepath.Join(t.TempDir(), "m.db"))
	if err != nil {
		t.Fatal(err)
	}
	st := NewSQLFailures(db)
	a, b := newFixture(t, nil), newFixture(t, nil)
	b.a.now = a.a.now // one clock
	var ev lockouts
	for _, f := range []*fixture{a, b} {
		f.a.SetFailures(st)
		f.a.SetEvents(&ev)
	}
	node := map[string]*Authenticator{"a": a.a, "b": b.a}
	steps := []struct {
		name    string
		node    string
		advance time.Duration
		ip, pw  string
		want    error
		unlock  string
	}{
		{name: "fail 1 on a", node: "a", ip: "192.0.2.1", pw: "x", want: ErrFailed},
		{name: "fail 2 on b", node: "b", advance: time.Minute, ip: "192.0.2.1", pw: "x", want: ErrFailed},
		{name: "success on a", node: "a", ip: "192.0.2.1", pw: "secret"},
		{name: "fail 3 on a locks", node: "a", ip: "192.0.2.1", pw: "x", want: ErrFailed},
		{name: "b refuses the right password", node: "b", ip: "192.0.2.1", pw: "secret", want: ErrTemporary},
		{name: "other IP fine", node: "b", ip: "192.0.2.2", pw: "secret"},
		{name: "still locked", node: "a", advance: 9 * time.Minute, ip: "192.0.2.1", pw: "secret", want: ErrTemporary},
		{name: "unlocked", node: "a", unlock: "192.0.2.1/32", ip: "192.0.2.1", pw: "secret"},
		{name: "v6 fail 1", node: "a", ip: "2001:db8:1:2::1", pw: "x", want: ErrFailed},
		{name: "v6 fail 2", node: "b", ip: "2001:db8:1:2::2", pw: "x", want: ErrFailed},
		{name: "v6 fail 3", node: "a", ip: "2001:db8:1:2::3", pw: "x", want: ErrFailed},
		{name: "v6 /64 locked", node: "b", ip: "2001:db8:1:2::4", pw: "secret", want: ErrTemporary},
		{name: "v6 unlocked by one address", node: "b", unlock: "2001:db8:1:2::4/128", ip: "2001:db8:1:2::4", pw: "secret"},
		{name: "window passed", node: "a", advance: 11 * time.Minute, ip: "192.0.2.1", pw: "x", want: ErrFailed},
	}
	for _, s := range steps {
		a.advance(s.advance)
		if s.unlock != "" {
			if n, err := st.Unlock(ctx, netip.MustParsePrefix(s.unlock)); err != nil || n != 1 {
				t.Fatalf("%s: unlock: %d %v", s.name, n, err)
			}
		}
		_, err := node[s.node].Check(ctx, "imap", "PLAIN", "alice@example.org", s.pw, netip.MustParseAddr(s.ip))
		if !errors.Is(err, s.want) || (s.want == nil) != (err == nil) {
			t.Fatalf("%s: err %v, want %v", s.name, err, s.want)
		}
	}
	if len(ev.got) != 2 || ev.got[0].Client != netip.MustParseAddr("192.0.2.1") || ev.got[0].Failures != 3 {
		t.Fatalf("lockout events: %+v", ev.got)
	}
	// A database that cannot be read refuses logins temporarily.
	db.Read.Close()
	if _, err := a.a.Check(ctx, "imap", "PLAIN", "alice@example.org", "secret", netip.MustParseAddr("192.0.2.9")); !errors.Is(err, ErrTemporary) {
		t.Fatalf("closed database: %v", err)
	}
	db.Write.Close()
}
