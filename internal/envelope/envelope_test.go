package envelope

import "testing"

func TestNewID(t *testing.T) {
	seen := map[string]bool{}
	prev := ""
	for i := 0; i < 10000; i++ {
		id := NewID()
		if len(id) != 14 || seen[id] {
			t.Fatalf("id %q (len %d, seen %v)", id, len(id), seen[id])
		}
		for _, c := range id {
			if !('0' <= c && c <= '9' || 'B' <= c && c <= 'Z') || c == 'E' || c == 'I' || c == 'O' || c == 'U' {
				t.Fatalf("id %q has %q", id, c)
			}
		}
		if id[:10] < prev[:min(10, len(prev))] {
			t.Fatalf("ids not time-ordered: %q after %q", id, prev)
		}
		seen[id], prev = true, id
	}
}
