package main

import (
	"context"
	"flag"
	"fmt"
	"strings"
	"time"

	"mailwarden/internal/auth/login"
	"mailwarden/internal/autoblock"
	"mailwarden/internal/block"
)

// loginCmd is `mailwarden login blocked` and `mailwarden login unblock
// ADDRESS|NETWORK|USER`: the failed-login lockout ([auth] max_failures
// within failure_window; even the right password is refused during one)
// and the automatic blocks, listed and lifted. `auth unlock` is the older
// name of `login unblock ADDRESS|NETWORK`.
func (c *cli) loginCmd(args []string) error {
	const use = "login blocked | login unblock ADDRESS|NETWORK|USER"
	if len(args) == 0 {
		return fmt.Errorf("%w: %s", errUsage, use)
	}
	fs := flag.NewFlagSet("login", flag.ContinueOnError)
	pos, err := c.parse(fs, args[1:])
	if err != nil {
		return err
	}
	switch args[0] {
	case "blocked":
		if err := need(pos, 0, "login blocked"); err != nil {
			return err
		}
	case "unblock", "unlock":
		if err := need(pos, 1, "login unblock ADDRESS|NETWORK|USER"); err != nil {
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
	if args[0] == "blocked" {
		return c.loginBlocked(ctx, e)
	}
	return c.loginUnblock(ctx, e, pos[0])
}

// loginBlocked lists the clients locked out, with when it ends and the
// names they tried, and the automatic blocks in force.
func (c *cli) loginBlocked(ctx context.Context, e *env) error {
	now := time.Now()
	locks, err := login.NewSQLFailures(e.db).Lockouts(ctx, now)
	if err != nil {
		return err
	}
	set, _, err := block.NewStore(e.db).Load(ctx)
	if err != nil {
		return err
	}
	var autos []block.Entry
	for _, b := range set.Entries() {
		if strings.HasPrefix(b.Reason, autoblock.ReasonPrefix) && b.Active(now) {
			autos = append(autos, b)
		}
	}
	if len(locks) == 0 && len(autos) == 0 {
		fmt.Fprintln(c.stdout, "no client is locked out or automatically blocked")
		return nil
	}
	tw := c.table("CLIENT", "KIND", "UNTIL", "DETAIL")
	for _, l := range locks {
		detail := "tried " + strings.Join(l.Users, ", ")
		if len(l.Users) == 0 {
			detail = "-"
		}
		fmt.Fprintf(tw, "%s\tlockout\t%s\t%s\n", l.Client, l.Until.UTC().Format(time.RFC3339), detail)
	}
	for _, b := range autos {
		until := "permanent"
		if !b.Expires.IsZero() {
			until = b.Expires.UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%s\tautoblock\t%s\t%s\n", b.Prefix, until, b.Reason)
	}
	return tw.Flush()
}

// loginUnblock lifts the lockouts, failure counts and automatic blocks
// of an address or network, or of every client that failed logging in
// as a user (locked out or not yet).
func (c *cli) loginUnblock(ctx context.Context, e *env, arg string) error {
	if p, err := block.ParsePrefix(arg); err == nil {
		u, err := unlockClients(ctx, e, p)
		if err != nil {
			return err
		}
		fmt.Fprintln(c.stdout, u)
		return nil
	}
	if strings.ContainsFunc(arg, func(r rune) bool { return r < ' ' || r == 0x7f }) || len(arg) > 320 {
		return fmt.Errorf("%w: login unblock: %q is neither an address, a network nor a user name", errUsage, arg)
	}
	clients, err := login.NewSQLFailures(e.db).ClientsTrying(ctx, arg)
	if err != nil {
		return err
	}
	if len(clients) == 0 {
		fmt.Fprintf(c.stdout, "%s: no client is locked out or has failed logins as this user\n", arg)
		return nil
	}
	for _, p := range clients {
		u, err := unlockClients(ctx, e, p)
		if err != nil {
			return err
		}
		fmt.Fprintf(c.stdout, "%s: %s\n", arg, u)
	}
	return nil
}
