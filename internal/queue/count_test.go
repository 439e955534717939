package queue

import (
	"context"
	"testing"
	"time"
)

func TestCount(t *testing.T) {
	ctx := context.Background()
	q := newQueue(t)
	now := time.Now()
	if c, err := q.Count(ctx, now); err != nil || c != (Counts{}) {
		t.Fatalf("empty queue: %+v %v", c, err)
	}
	enqueue(t, q, "a@x.test", now, "b@y.test")
	late := enqueue(t, q, "a@x.test", now, "c@y.test")
	held := enqueue(t, q, "a@x.test", now, "d@y.test")
	enqueue(t, q, "a@x.test", now, "e@y.test")
	if err := q.record(ctx, late, now, nil, now.Add(time.Hour), time.Time{}, false); err != nil {
		t.Fatal(err)
	}
	if _, err := q.Hold(ctx, held); err != nil {
		t.Fatal(err)
	}
	c, err := q.Count(ctx, now)
	if err != nil || c != (Counts{Active: 2, Deferred: 1, Hold: 1}) {
		t.Fatalf("got %+v %v", c, err)
	}
}
