package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"strings"

	"mailwarden/internal/config"
	"mailwarden/internal/daemon"
	"mailwarden/internal/sessions"
)

// who is doveadm who: the running server's logged-in IMAP and POP3
// sessions by user — how many connections, over which protocols, from
// which addresses. `who USER` (or an address or network) shows only
// those.
func (c *cli) who(args []string) error {
	dir, pid, pos, err := c.server("who", args, 0, 1, "who [USER|ADDRESS|NETWORK]")
	if err != nil {
		return err
	}
	list, err := daemon.Who(dir)
	if err != nil {
		return fmt.Errorf("the server (pid %d): %w", pid, err)
	}
	if len(pos) == 1 {
		m := sessions.ParseMatch(pos[0])
		list = slices.DeleteFunc(list, func(s daemon.Session) bool {
			ip, _ := netip.ParseAddr(s.Remote)
			return !m.Matches(s.User, ip)
		})
	}
	type row struct {
		user   string
		n      int
		protos []string
		ips    []string
	}
	var rows []*row
	byUser := map[string]*row{}
	for _, s := range list {
		r := byUser[s.User]
		if r == nil {
			r = &row{user: s.User}
			byUser[s.User] = r
			rows = append(rows, r)
		}
		r.n++
		if !slices.Contains(r.protos, s.Protocol) {
			r.protos = append(r.protos, s.Protocol)
		}
		if !slices.Contains(r.ips, s.Remote) {
			r.ips = append(r.ips, s.Remote)
		}
	}
	slices.SortFunc(rows, func(a, b *row) int { return strings.Compare(a.user, b.user) })
	tw := c.table("USER", "CONNECTIONS", "PROTOCOLS", "REMOTE")
	for _, r := range rows {
		slices.Sort(r.protos)
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\n", r.user, r.n, strings.Join(r.protos, ","), strings.Join(r.ips, ","))
	}
	return tw.Flush()
}

// kick is doveadm kick: it ends the running server's IMAP and POP3
// sessions of a user (or from an address or network) — IMAP clients are
// told "* BYE", POP3 clients "-ERR", nothing a POP3 client marked
// deleted is deleted — and says how many it ended.
func (c *cli) kick(args []string) error {
	dir, pid, pos, err := c.server("kick", args, 1, 1, "kick USER|ADDRESS|NETWORK")
	if err != nil {
		return err
	}
	k, err := daemon.Kick(dir, pos[0])
	if err != nil {
		return fmt.Errorf("the server (pid %d): %w", pid, err)
	}
	switch {
	case k.Kicked == 0:
		fmt.Fprintf(c.stdout, "%s: no IMAP or POP3 session\n", pos[0])
	case k.Left > 0:
		return fmt.Errorf("%s: kicked %d session(s); %d had not ended yet when the server stopped waiting (see the mail log)", pos[0], k.Kicked, k.Left)
	default:
		fmt.Fprintf(c.stdout, "%s: kicked %d session(s)\n", pos[0], k.Kicked)
	}
	return nil
}

// server parses a verb that asks the running server, with min to max
// positional arguments, and returns the server's data_dir.
func (c *cli) server(verb string, args []string, min, max int, use string) (dir string, pid int, pos []string, err error) {
	fs := flag.NewFlagSet(verb, flag.ContinueOnError)
	if pos, err = c.parse(fs, args); err != nil {
		return "", 0, nil, err
	}
	if len(pos) < min || len(pos) > max {
		return "", 0, nil, fmt.Errorf("%w: want %s", errUsage, use)
	}
	cfg, err := config.Load(config.PathFrom(c.cfgPath))
	if err != nil {
		return "", 0, nil, err
	}
	pid, ok, err := daemon.Running(cfg.DataDir)
	if err != nil {
		return "", 0, nil, err
	}
	if !ok {
		return "", 0, nil, &exitError{code: 3, msg: "mailwarden is not running (data_dir " + cfg.DataDir + "): sessions belong to the running server"}
	}
	return cfg.DataDir, pid, pos, nil
}

// whoSessions is the server's answer to `who`.
func whoSessions(r *sessions.Registry) []daemon.Session {
	list := r.Who()
	out := make([]daemon.Session, len(list))
	for i, s := range list {
		out[i] = daemon.Session{User: s.User, Protocol: s.Protocol, Remote: s.Remote.String(), Since: s.Since}
	}
	return out
}

// kickSessions is the server's answer to `kick`: it logs what it did.
func kickSessions(ctx context.Context, r *sessions.Registry, match string, log *slog.Logger) daemon.Kicked {
	kicked, left := r.Kick(ctx, sessions.ParseMatch(match))
	if kicked > 0 {
		msg := fmt.Sprintf("kick %q: ended %d IMAP/POP3 session(s)", match, kicked-left)
		if left > 0 {
			msg += fmt.Sprintf("; %d still open", left)
		}
		log.Info(msg)
	}
	return daemon.Kicked{Kicked: kicked, Left: left}
}
