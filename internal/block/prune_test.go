package block

import (
	"context"
	"fmt"
	"net/netip"
	"testing"
	"time"
)

// Prune deletes expired blocks a bounded batch at a time, keeps
// permanent and live ones, and moves the serial only when it deleted.
func TestPrune(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	now := time.Unix(1_800_000_000, 0)
	add := func(p string, created time.Time, d time.Duration) {
		t.Helper()
		e := Entry{Prefix: netip.MustParsePrefix(p), Reason: "autoblock: test", Created: created}
		if d != 0 {
			e.Expires = created.Add(d)
		}
		if err := st.Add(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 5 { // expired a day or more ago
		add(fmt.Sprintf("192.0.2.%d/32", i+1), now.Add(-48*time.Hour), time.Hour)
	}
	add("198.51.100.0/24", now.Add(-48*time.Hour), 0)          // permanent
	add("203.0.113.1/32", now.Add(-time.Hour), 30*time.Minute) // expired, not long ago
	add("203.0.113.2/32", now, time.Hour)                      // live
	before := now.Add(-24 * time.Hour)
	for i, want := range []struct {
		n    int
		more bool
	}{{3, true}, {2, false}, {0, false}} {
		s0, _ := st.Serial(ctx)
		n, more, err := st.Prune(ctx, before, 3)
		if err != nil {
			t.Fatal(err)
		}
		if n != want.n || more != want.more {
			t.Errorf("prune %d: %d (more %v), want %d (more %v)", i, n, more, want.n, want.more)
		}
		if s1, _ := st.Serial(ctx); (s1 != s0) != (n > 0) {
			t.Errorf("prune %d of %d blocks: serial %d -> %d", i, n, s0, s1)
		}
	}
	set, _, err := st.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var left []string
	for _, e := range set.Entries() {
		left = append(left, e.Prefix.String())
	}
	if fmt.Sprint(left) != "[198.51.100.0/24 203.0.113.1/32 203.0.113.2/32]" {
		t.Errorf("left: %v", left)
	}
}
