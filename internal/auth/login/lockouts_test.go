package login

import (
	"context"
	"fmt"
	"net/netip"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"mailwarden/internal/sqldb"
)

func openFailures(t *testing.T) (*SQLFailures, *sqldb.DB) {
	t.Helper()
	db, err := sqldb.Open(context.Background(), filepath.Join(t.TempDir(), "m.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return NewSQLFailures(db), db
}

func count(t *testing.T, db *sqldb.DB, table string) int {
	t.Helper()
	var n int
	if err := db.Read.QueryRow(`SELECT COUNT(*) FROM ` + table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// The lockout keeps the names its failures tried; Lockouts lists them,
// ClientsTrying finds the clients by name (any case), Unlock forgets
// them.
func TestLockoutUsers(t *testing.T) {
	ctx := context.Background()
	st, db := openFailures(t)
	now := time.Unix(1_800_000_000, 0)
	const max, window = 3, 10 * time.Minute
	fail := func(ip, user string) bool {
		t.Helper()
		locked, err := st.Fail(ctx, KeyOf(netip.MustParseAddr(ip)), user, now, max, window)
		if err != nil {
			t.Fatal(err)
		}
		return locked
	}
	for i, tc := range []struct {
		ip, user string
		locks    bool
	}{
		{"192.0.2.1", "Victim@Example.org", false},
		{"192.0.2.1", "admin", false},
		{"2001:db8:1:2::1", "victim@example.org", false},
		{"192.0.2.1", "victim@example.org", true},
		{"2001:db8:1:2::9", "root\r\n<x>", false},
		{"2001:db8:1:2::3", "root\r\n<x>", true},
		{"198.51.100.7", "bob@example.org", false},
	} {
		if got := fail(tc.ip, tc.user); got != tc.locks {
			t.Fatalf("failure %d (%s as %q): locked %v, want %v", i, tc.ip, tc.user, got, tc.locks)
		}
	}
	ls, err := st.Lockouts(ctx, now)
	if err != nil {
		t.Fatal(err)
	}
	want := []Lockout{
		{Client: netip.MustParsePrefix("192.0.2.1/32"), Until: now.Add(window), Users: []string{"admin", "victim@example.org"}},
		{Client: netip.MustParsePrefix("2001:db8:1:2::/64"), Until: now.Add(window), Users: []string{"root???x?", "victim@example.org"}},
	}
	if len(ls) != len(want) {
		t.Fatalf("Lockouts = %+v", ls)
	}
	for i := range want {
		if ls[i].Client != want[i].Client || !ls[i].Until.Equal(want[i].Until) || !slices.Equal(ls[i].Users, want[i].Users) {
			t.Errorf("lockout %d = %+v, want %+v", i, ls[i], want[i])
		}
	}
	if ls, _ := st.Lockouts(ctx, now.Add(window)); len(ls) != 0 {
		t.Errorf("Lockouts after the window = %+v", ls)
	}
	for _, tc := range []struct {
		user string
		want []string
	}{
		{"VICTIM@example.org", []string{"192.0.2.1/32", "2001:db8:1:2::/64"}},
		{"bob@example.org", []string{"198.51.100.7/32"}}, // failed, not locked
		{"carol@example.org", nil},
	} {
		got, err := st.ClientsTrying(ctx, tc.user)
		if err != nil {
			t.Fatal(err)
		}
		var s []string
		for _, p := range got {
			s = append(s, p.String())
		}
		slices.Sort(s)
		if !slices.Equal(s, tc.want) {
			t.Errorf("ClientsTrying(%q) = %v, want %v", tc.user, s, tc.want)
		}
	}
	if n, err := st.Unlock(ctx, netip.MustParsePrefix("2001:db8:1:2::/64")); err != nil || n != 1 {
		t.Fatalf("Unlock = %d, %v", n, err)
	}
	if n := count(t, db, "login_lock_user"); n != 2 {
		t.Errorf("login_lock_user rows after unlocking one client = %d, want 2", n)
	}
}

// Prune deletes ended lockouts and failures out of the window, a
// bounded batch at a time, and keeps the rest.
func TestPrune(t *testing.T) {
	ctx := context.Background()
	st, db := openFailures(t)
	start := time.Unix(1_800_000_000, 0)
	const window = 10 * time.Minute
	// 7 clients locked at start (3 failures each), 5 with one failure at
	// start, then one client locked and one failure an hour later.
	for i := range 12 {
		key := netip.AddrFrom4([4]byte{192, 0, 2, byte(i + 1)})
		tries := 1
		if i < 7 {
			tries = 3
		}
		for range tries {
			if _, err := st.Fail(ctx, key, fmt.Sprintf("user%d@example.org", i), start, 3, window); err != nil {
				t.Fatal(err)
			}
		}
	}
	later := start.Add(time.Hour)
	for range 3 {
		st.Fail(ctx, netip.MustParseAddr("198.51.100.1"), "late@example.org", later, 3, window)
	}
	st.Fail(ctx, netip.MustParseAddr("198.51.100.2"), "late@example.org", later, 3, window)
	if l, f, u := count(t, db, "login_lock"), count(t, db, "login_failure"), count(t, db, "login_lock_user"); l != 8 || f != 6 || u != 8 {
		t.Fatalf("before: %d locks, %d failures, %d lock users", l, f, u)
	}
	steps := []struct {
		deleted int
		more    bool
	}{
		{4*2 + 4, true},  // 4 locks with their user, 4 clients' failures
		{3*2 + 1, false}, // the other 3 locks, the last failure
		{0, false},
	}
	for i, s := range steps {
		n, more, err := st.Prune(ctx, later, window, 4)
		if err != nil {
			t.Fatal(err)
		}
		if n != s.deleted || more != s.more {
			t.Errorf("prune %d: deleted %d (more %v), want %d (more %v)", i, n, more, s.deleted, s.more)
		}
	}
	if l, f, u := count(t, db, "login_lock"), count(t, db, "login_failure"), count(t, db, "login_lock_user"); l != 1 || f != 1 || u != 1 {
		t.Errorf("after: %d locks, %d failures, %d lock users; want the late client's 1, 1, 1", l, f, u)
	}
	if ls, _ := st.Lockouts(ctx, later); len(ls) != 1 || ls[0].Client.String() != "198.51.100.1/32" {
		t.Errorf("Lockouts after pruning = %+v", ls)
	}
}
