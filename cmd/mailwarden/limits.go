package main

import (
	"context"
	"log/slog"
	"net/netip"
	"sync"

	"mailwarden/internal/anvil"
	"mailwarden/internal/auth/login"
	"mailwarden/internal/autoblock"
	"mailwarden/internal/block"
	"mailwarden/internal/config"
	"mailwarden/internal/event"
	"mailwarden/internal/mlog"
)

// startLimits sets up the abuse limits of serve: anvil's per-client
// counts (in memory, flushed to SQL once a second), failed logins and
// lockouts in SQL, the automatic blocker listening on bus, and the
// periodic prune of expired blocks, lockouts and failures. Call it
// before anything publishes on bus; stop flushes and waits.
func startLimits(ctx context.Context, e *env, current func() *config.Config, auth *login.Authenticator,
	bus *event.Bus, logger *slog.Logger) (lim *anvil.Limiter, stop func()) {
	counts := anvil.NewStore(e.db)
	lim = anvil.New(counts, mlog.Component(logger, "anvil"))
	failures := login.NewSQLFailures(e.db)
	auth.SetFailures(failures)
	auth.SetEvents(bus)
	blocker := autoblock.New(autoblock.Options{Config: current, Counts: counts, Blocks: block.NewStore(e.db),
		Events: bus, Log: mlog.Component(logger, "master"), Forget: func(p netip.Prefix) { lim.Forget(p) }})
	bus.Subscribe(blocker)
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	prune := &pruner{blocks: block.NewStore(e.db), failures: failures, cfg: current, log: mlog.Component(logger, "master")}
	wg.Add(3)
	go func() { defer wg.Done(); lim.Run(ctx, anvil.FlushInterval) }()
	go func() { defer wg.Done(); blocker.Run(ctx) }()
	go func() { defer wg.Done(); prune.run(ctx, pruneInterval) }()
	return lim, func() { cancel(); wg.Wait() }
}
