package main

import (
	"context"
	"flag"
	"fmt"
	"time"

	"mailwarden/internal/block"
)

// block administers the client block list: `block add NET [--for D]
// [--reason TEXT]`, `block list`, `block delete NET`. A running server
// picks changes up within about a second (blockPollInterval).
func (c *cli) block(args []string) error {
	const use = "block add NETWORK [--for 24h] [--reason TEXT] | block list | block delete NETWORK"
	if len(args) == 0 {
		return fmt.Errorf("%w: %s", errUsage, use)
	}
	fs := flag.NewFlagSet("block", flag.ContinueOnError)
	forStr := fs.String("for", "", "how long the block lasts (24h, 7d, 2w); absent: permanent")
	reason := fs.String("reason", "", "why, shown by block list and logged for each dropped connection")
	pos, err := c.parse(fs, args[1:])
	if err != nil {
		return err
	}
	var entry block.Entry
	switch args[0] {
	case "add":
		if err := need(pos, 1, "block add NETWORK [--for 24h] [--reason TEXT]"); err != nil {
			return err
		}
		if entry.Prefix, err = block.ParsePrefix(pos[0]); err != nil {
			return err
		}
		if err := block.CheckReason(*reason); err != nil {
			return err
		}
		entry.Reason, entry.Created = *reason, time.Now()
		if *forStr != "" {
			d, err := block.ParseFor(*forStr)
			if err != nil {
				return err
			}
			entry.Expires = entry.Created.Add(d)
		}
	case "list":
		if err := need(pos, 0, "block list"); err != nil {
			return err
		}
	case "delete", "del", "rm":
		if err := need(pos, 1, "block delete NETWORK"); err != nil {
			return err
		}
		if entry.Prefix, err = block.ParsePrefix(pos[0]); err != nil {
			return err
		}
	default:
		return fmt.Errorf("%w: %s", errUsage, use)
	}
	ctx := context.Background()
	e, err := c.open(ctx)
	if err != nil {
		return err
	}
	defer e.close()
	st := block.NewStore(e.db)
	switch args[0] {
	case "add":
		return st.Add(ctx, entry)
	case "list":
		set, _, err := st.Load(ctx)
		if err != nil {
			return err
		}
		now := time.Now()
		tw := c.table("NETWORK", "STATUS", "ADDED", "REASON")
		for _, b := range set.Entries() {
			status := "permanent"
			switch {
			case !b.Active(now):
				status = "expired " + b.Expires.UTC().Format(time.RFC3339)
			case !b.Expires.IsZero():
				status = "until " + b.Expires.UTC().Format(time.RFC3339)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", b.Prefix, status, b.Created.UTC().Format(time.RFC3339), b.Reason)
		}
		return tw.Flush()
	default:
		return st.Delete(ctx, entry.Prefix)
	}
}
