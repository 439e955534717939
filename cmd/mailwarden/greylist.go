package main

import (
	"context"
	"flag"
	"fmt"
	"net/netip"
	"time"

	"mailwarden/internal/greylist"
)

// greylistCmd administers the greylist state: `greylist list`, `greylist
// whitelist CLIENT`, `greylist delete`, `greylist stats`.
func (c *cli) greylistCmd(args []string) error {
	const use = "greylist list [--client NET] [--sender S] [--recipient R] [--state passed|tarpit|waiting] [--limit N] [--whitelist] | " +
		"greylist whitelist CLIENT [--reason TEXT] | greylist delete [--client NET] [--sender S] [--recipient R] [--state S] [--all] | " +
		"greylist delete --whitelist CLIENT | greylist stats"
	if len(args) == 0 {
		return fmt.Errorf("%w: %s", errUsage, use)
	}
	fs := flag.NewFlagSet("greylist", flag.ContinueOnError)
	client := fs.String("client", "", "a client address or network (192.0.2.7, 192.0.2.0/24)")
	sender := fs.String("sender", "", "the normalized sender (* matches any characters)")
	rcpt := fs.String("recipient", "", "the recipient (* matches any characters)")
	state := fs.String("state", "", "passed, tarpit (tarpitted, no DATA yet) or waiting (greylisted)")
	limit := fs.Int("limit", 1000, "list at most this many triplets (0: all)")
	wl := fs.Bool("whitelist", false, "list: the whitelisted clients; delete: a whitelisted client")
	all := fs.Bool("all", false, "delete: every triplet")
	reason := fs.String("reason", "", "whitelist: why, shown by greylist list --whitelist")
	pos, err := c.parse(fs, args[1:])
	if err != nil {
		return err
	}
	f := greylist.Filter{Sender: *sender, Recipient: *rcpt, State: *state, Limit: *limit}
	if err := greylist.CheckState(*state); err != nil {
		return err
	}
	if *client != "" {
		if f.Client, err = greylist.ParseClient(*client); err != nil {
			return err
		}
	}
	var target netip.Prefix
	switch args[0] {
	case "list", "stats":
		if err := need(pos, 0, "greylist "+args[0]); err != nil {
			return err
		}
	case "whitelist":
		if err := need(pos, 1, "greylist whitelist CLIENT [--reason TEXT]"); err != nil {
			return err
		}
		if target, err = greylist.ParseClient(pos[0]); err != nil {
			return err
		}
	case "delete", "del", "rm":
		if *wl {
			if err := need(pos, 1, "greylist delete --whitelist CLIENT"); err != nil {
				return err
			}
			if target, err = greylist.ParseClient(pos[0]); err != nil {
				return err
			}
		} else if err := need(pos, 0, "greylist delete [--client NET] [--sender S] [--recipient R] [--state S] [--all]"); err != nil {
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
	switch args[0] {
	case "list":
		if *wl {
			return c.greylistWhitelisted(ctx, e)
		}
		es, err := greylist.List(ctx, e.db, f)
		if err != nil {
			return err
		}
		tw := c.table("CLIENT", "SENDER", "RECIPIENT", "STATE", "FIRST", "LAST", "LAST CLIENT")
		for _, t := range es {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", t.ClientNet, orNull(t.Sender), t.Recipient, t.State(),
				t.First.UTC().Format(time.RFC3339), t.Last.UTC().Format(time.RFC3339), t.ClientIP)
		}
		return tw.Flush()
	case "whitelist":
		return greylist.Whitelist(ctx, e.db, target, *reason, time.Now())
	case "stats":
		st, err := greylist.GetStats(ctx, e.db, e.cfg.Greylist.AutoWhitelistClients)
		if err != nil {
			return err
		}
		tw := c.table("WHAT", "COUNT")
		for _, r := range []struct {
			what string
			n    int64
		}{
			{"triplets", st.Triplets}, {"waiting (greylisted)", st.Waiting}, {"tarpitted, no DATA yet", st.Tarpit},
			{"passed", st.Passed}, {"auto-whitelisted clients", st.AutoWhitelisted}, {"clients counted for auto-whitelisting", st.Counted},
			{"whitelisted by hand", st.Whitelisted}, {"database bytes (whole file)", st.DBBytes},
		} {
			fmt.Fprintf(tw, "%s\t%d\n", r.what, r.n)
		}
		return tw.Flush()
	default:
		if *wl {
			ok, err := greylist.Unwhitelist(ctx, e.db, target)
			if err != nil {
				return err
			}
			if !ok {
				return fmt.Errorf("greylist: %s is not whitelisted", target)
			}
			return nil
		}
		var n int64
		if *all {
			n, err = greylist.DeleteAll(ctx, e.db)
		} else {
			n, err = greylist.Delete(ctx, e.db, f)
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(c.stdout, "%d triplets deleted\n", n)
		return nil
	}
}

func (c *cli) greylistWhitelisted(ctx context.Context, e *env) error {
	ws, err := greylist.Whitelisted(ctx, e.db)
	if err != nil {
		return err
	}
	as, err := greylist.AutoClients(ctx, e.db)
	if err != nil {
		return err
	}
	tw := c.table("CLIENT", "HOW", "SINCE/LAST", "NOTE")
	for _, w := range ws {
		fmt.Fprintf(tw, "%s\tby hand\t%s\t%s\n", w.Prefix, w.Created.UTC().Format(time.RFC3339), w.Reason)
	}
	n := e.cfg.Greylist.AutoWhitelistClients
	for _, a := range as {
		how := fmt.Sprintf("auto (%d of %d)", a.Hits, n)
		if n > 0 && a.Hits >= int64(n) {
			how = fmt.Sprintf("auto (%d)", a.Hits)
		} else {
			how += ", not yet"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t\n", a.Address, how, a.LastSeen.UTC().Format(time.RFC3339))
	}
	return tw.Flush()
}

// orNull shows the null sender as "<>".
func orNull(s string) string {
	if s == "" {
		return "<>"
	}
	return s
}
