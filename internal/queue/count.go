package queue

import (
	"context"
	"fmt"
	"time"
)

// Counts is the number of queued messages in each state, as Postfix's
// queue directories split them.
type Counts struct {
	Active   int // due now, not held
	Deferred int // waiting for their next attempt
	Hold     int // held by an administrator (postsuper -h)
}

// Count returns how many messages are in each state at now (one
// aggregate query; for the metrics' queue size gauge).
func (q *Queue) Count(ctx context.Context, now time.Time) (Counts, error) {
	var c Counts
	err := q.db.Read.QueryRowContext(ctx, `SELECT
		COALESCE(SUM(CASE WHEN held=0 AND next_attempt<=? THEN 1 ELSE 0 END), 0),
		COALESCE(SUM(CASE WHEN held=0 AND next_attempt>? THEN 1 ELSE 0 END), 0),
		COALESCE(SUM(CASE WHEN held<>0 THEN 1 ELSE 0 END), 0)
		FROM queue_message`, now.Unix(), now.Unix()).Scan(&c.Active, &c.Deferred, &c.Hold)
	if err != nil {
		return Counts{}, fmt.Errorf("queue: count: %w", err)
	}
	return c, nil
}
