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
// lockouts in SQL, and the automatic blocker listening on bus. Call it
// before anything publishes on bus; stop flushes and waits.
func startLimits(ctx context.Context, e *env, current func() *config.Config, auth *login.Authenticator,
	bus *event.Bus, logger *slog.Logger) (lim *anvil.Limiter, stop func()) {
	counts := anvil.NewStore(e.db)
	lim = anvil.New(counts, mlog.Component(logger, "anvil"))
	auth.SetFailures(login.NewSQLFailures(e.db))
	auth.SetEvents(bus)
	blocker := autoblock.New(autoblock.Options{Config: current, Counts: counts, Blocks: block.NewStore(e.db),
		Events: bus, Log: mlog.Component(logger, "master"), Forget: func(p netip.Prefix) { lim.Forget(p) }})
	bus.Subscribe(blocker)
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); lim.Run(ctx, anvil.FlushInterval) }()
	go func() { defer wg.Done(); blocker.Run(ctx) }()
	return lim, func() { cancel(); wg.Wait() }
}
