package block

import (
	"context"
	"log/slog"
	"net/netip"
	"sync/atomic"
	"time"
)

// Watcher keeps the current Set of a Store in memory for the accept-time
// check: Blocked reads an atomic pointer and never touches SQL.
type Watcher struct {
	st     *Store
	log    *slog.Logger
	set    atomic.Pointer[Set]
	serial int64 // of set; only Refresh touches it
	failed bool  // the last refresh failed (logged once per failure streak)
}

// NewWatcher loads the blocks of st once, so that they apply from the
// first connection; Run keeps them current.
func NewWatcher(ctx context.Context, st *Store, log *slog.Logger) (*Watcher, error) {
	w := &Watcher{st: st, log: log}
	set, serial, err := st.Load(ctx)
	if err != nil {
		return nil, err
	}
	w.set.Store(set)
	w.serial = serial
	return w, nil
}

// Run refreshes the Set every interval until ctx ends. Call it from one
// goroutine only.
func (w *Watcher) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			w.Refresh(ctx)
		}
	}
}

// Refresh reads the change counter and, when it moved, reloads the Set.
// On a database error the last Set stays in force (the error is logged
// once until a refresh succeeds again). It reports whether the Set was
// reloaded.
func (w *Watcher) Refresh(ctx context.Context) bool {
	serial, err := w.st.Serial(ctx)
	if err == nil && serial == w.serial {
		w.recovered()
		return false
	}
	var set *Set
	if err == nil {
		set, serial, err = w.st.Load(ctx)
	}
	if err != nil {
		if !w.failed && ctx.Err() == nil {
			w.log.Warn("client blocks: cannot refresh, keeping the last list: " + err.Error())
		}
		w.failed = true
		return false
	}
	w.recovered()
	w.set.Store(set)
	w.serial = serial
	return true
}

func (w *Watcher) recovered() {
	if w.failed {
		w.failed = false
		w.log.Info("client blocks: refreshing again")
	}
}

// Blocked reports whether ip is blocked now and the block's reason. It is
// safe for concurrent use and costs no SQL.
func (w *Watcher) Blocked(ip netip.Addr) (reason string, blocked bool) {
	e, ok := w.set.Load().Lookup(ip, time.Now())
	return e.Reason, ok
}

// Set is the Set in force.
func (w *Watcher) Set() *Set { return w.set.Load() }
