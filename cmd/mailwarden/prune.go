package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"mailwarden/internal/auth/login"
	"mailwarden/internal/block"
	"mailwarden/internal/config"
)

const (
	// pruneInterval is how often serve deletes expired blocks, ended
	// login lockouts and failed logins out of their window.
	pruneInterval = 10 * time.Minute
	// pruneBatch bounds the rows of each table one transaction deletes,
	// so a prune never holds the database for long; pruneBatches bounds
	// the transactions of one run (the next run goes on).
	pruneBatch, pruneBatches = 500, 20
	// expiredBlockKeep is how long an expired block stays listed (as
	// expired) by `mailwarden block list` before it is deleted.
	expiredBlockKeep = 24 * time.Hour
)

// pruner deletes what has expired from the abuse tables.
type pruner struct {
	blocks   *block.Store
	failures *login.SQLFailures
	cfg      func() *config.Config
	log      *slog.Logger
}

// run prunes at once, then every interval, until ctx ends.
func (p *pruner) run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if err := p.prune(ctx, time.Now()); err != nil && ctx.Err() == nil {
			p.log.Warn("prune: " + err.Error())
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// prune deletes, batch by batch, blocks expired for expiredBlockKeep,
// lockouts that have ended and failed logins older than
// auth.failure_window, as of now.
func (p *pruner) prune(ctx context.Context, now time.Time) error {
	window := p.cfg().Auth.FailureWindow.D()
	var blocks, logins int
	for range pruneBatches {
		nb, moreB, err := p.blocks.Prune(ctx, now.Add(-expiredBlockKeep), pruneBatch)
		if err != nil {
			return err
		}
		nl, moreL, err := p.failures.Prune(ctx, now, window, pruneBatch)
		if err != nil {
			return err
		}
		blocks, logins = blocks+nb, logins+nl
		if !moreB && !moreL {
			break
		}
	}
	if blocks+logins > 0 {
		p.log.Info(fmt.Sprintf("prune: deleted %d expired block(s) and %d ended login lockout and failure row(s)", blocks, logins))
	}
	return nil
}
