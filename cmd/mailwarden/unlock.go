package main

import (
	"context"
	"flag"
	"fmt"
	"net/netip"
	"strings"

	"mailwarden/internal/anvil"
	"mailwarden/internal/auth/login"
	"mailwarden/internal/autoblock"
	"mailwarden/internal/block"
)

// authCmd is `mailwarden auth unlock ADDRESS|NETWORK`: it lifts the
// login-failure lockout of the clients in it (even the right password is
// refused during one), forgets their failed logins, rate counts and
// pregreet verdict, and deletes the automatic blocks that cover them.
// Blocks added by hand (mailwarden block add) stay: block delete lifts
// those. A running server sees the change at the next login, and the
// block list within about a second.
func (c *cli) authCmd(args []string) error {
	const use = "auth unlock ADDRESS|NETWORK"
	if len(args) == 0 || args[0] != "unlock" {
		return fmt.Errorf("%w: %s", errUsage, use)
	}
	fs := flag.NewFlagSet("auth unlock", flag.ContinueOnError)
	pos, err := c.parse(fs, args[1:])
	if err != nil {
		return err
	}
	if err := need(pos, 1, use); err != nil {
		return err
	}
	p, err := block.ParsePrefix(pos[0])
	if err != nil {
		return err
	}
	ctx := context.Background()
	e, err := c.open(ctx)
	if err != nil {
		return err
	}
	defer e.close()
	locks, err := login.NewSQLFailures(e.db).Unlock(ctx, p)
	if err != nil {
		return err
	}
	// Counters are kept per address, autoblock's per IPv6 /64.
	counts := anvil.NewStore(e.db)
	cleared, err := counts.Forget(ctx, p)
	if err != nil {
		return err
	}
	if p.IsSingleIP() && p.Addr().Is6() {
		n, err := counts.Forget(ctx, netip.PrefixFrom(autoblock.Prefix(p.Addr()).Addr(), 128))
		if err != nil {
			return err
		}
		cleared += n
	}
	bs := block.NewStore(e.db)
	set, _, err := bs.Load(ctx)
	if err != nil {
		return err
	}
	var lifted []string
	for _, b := range set.Entries() {
		if !strings.HasPrefix(b.Reason, autoblock.ReasonPrefix) || !b.Prefix.Overlaps(p) {
			continue
		}
		if err := bs.Delete(ctx, b.Prefix); err != nil {
			return err
		}
		lifted = append(lifted, b.Prefix.String())
	}
	fmt.Fprintf(c.stdout, "%s: %d login lockout(s) and failure counts cleared, %d counter row(s) cleared, automatic blocks deleted: %s\n",
		p, locks, cleared, listOrNone(lifted))
	return nil
}

func listOrNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}
