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
	u, err := unlockClients(ctx, e, p)
	if err != nil {
		return err
	}
	fmt.Fprintln(c.stdout, u)
	return nil
}

// unlocked is what unlockClients did for one address or network.
type unlocked struct {
	client  netip.Prefix
	locks   int      // lockouts lifted (with the failures counted)
	cleared int64    // counter rows forgotten
	lifted  []string // automatic blocks deleted
}

func (u unlocked) String() string {
	return fmt.Sprintf("%s: %d login lockout(s) and failure counts cleared, %d counter row(s) cleared, automatic blocks deleted: %s",
		u.client, u.locks, u.cleared, listOrNone(u.lifted))
}

// unlockClients lifts the login lockout of the clients in p, forgets
// their failures, rate counts and pregreet verdict, and deletes the
// automatic blocks that overlap p.
func unlockClients(ctx context.Context, e *env, p netip.Prefix) (unlocked, error) {
	u := unlocked{client: p}
	var err error
	if u.locks, err = login.NewSQLFailures(e.db).Unlock(ctx, p); err != nil {
		return u, err
	}
	// Counters are kept per address, autoblock's per IPv6 /64.
	counts := anvil.NewStore(e.db)
	if u.cleared, err = counts.Forget(ctx, p); err != nil {
		return u, err
	}
	if p.IsSingleIP() && p.Addr().Is6() {
		n, err := counts.Forget(ctx, netip.PrefixFrom(autoblock.Prefix(p.Addr()).Addr(), 128))
		if err != nil {
			return u, err
		}
		u.cleared += n
	}
	bs := block.NewStore(e.db)
	set, _, err := bs.Load(ctx)
	if err != nil {
		return u, err
	}
	for _, b := range set.Entries() {
		if !strings.HasPrefix(b.Reason, autoblock.ReasonPrefix) || !b.Prefix.Overlaps(p) {
			continue
		}
		if err := bs.Delete(ctx, b.Prefix); err != nil {
			return u, err
		}
		u.lifted = append(u.lifted, b.Prefix.String())
	}
	return u, nil
}

func listOrNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}
