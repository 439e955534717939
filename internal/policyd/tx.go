package policyd

import (
	"sync"
	"time"

	"mailwarden/internal/envelope"
)

// transactions remembers, by Postfix's instance attribute, the
// recipients a transaction's RCPT requests were not refused for: Postfix
// sends only their count at DATA, and the tarpit's DATA stage needs them.
// It is bounded in entries, recipients per entry and age; it is a cache
// of one SMTP transaction, not state several nodes must share.
type transactions struct {
	mu sync.Mutex
	m  map[string]*txn
}

type txn struct {
	rcpts []envelope.Recipient
	seen  time.Time
}

const (
	maxTransactions = 20000
	maxTxRecipients = 1000
	txMaxAge        = time.Hour // longer than any SMTP transaction lasts
)

func newTransactions() *transactions { return &transactions{m: map[string]*txn{}} }

func (t *transactions) add(instance, rcpt string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := time.Now()
	x := t.m[instance]
	if x == nil {
		if len(t.m) >= maxTransactions {
			t.sweep(now)
		}
		if len(t.m) >= maxTransactions {
			return
		}
		x = &txn{}
		t.m[instance] = x
	}
	x.seen = now
	if len(x.rcpts) < maxTxRecipients {
		x.rcpts = append(x.rcpts, envelope.Recipient{Address: rcpt})
	}
}

// recipients returns the instance's recipients so far. The slice is
// only ever appended to, so the part returned stays as it is: no copy.
func (t *transactions) recipients(instance string) []envelope.Recipient {
	if instance == "" {
		return nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	x := t.m[instance]
	if x == nil {
		return nil
	}
	return x.rcpts[:len(x.rcpts):len(x.rcpts)]
}

// sweep drops transactions not seen for txMaxAge, then, if still full,
// the oldest half.
func (t *transactions) sweep(now time.Time) {
	var oldest time.Time
	for k, x := range t.m {
		if now.Sub(x.seen) > txMaxAge {
			delete(t.m, k)
		} else if oldest.IsZero() || x.seen.Before(oldest) {
			oldest = x.seen
		}
	}
	if len(t.m) < maxTransactions {
		return
	}
	mid := oldest.Add(now.Sub(oldest) / 2)
	for k, x := range t.m {
		if x.seen.Before(mid) {
			delete(t.m, k)
		}
	}
}
