package main

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"mailwarden/internal/config"
	"mailwarden/internal/directory"
)

// parseQuota reads a quota as the config reads sizes ("2G", "500M",
// "2GB"); a bare number other than 0 is refused, since "5" would be five
// bytes and nobody means that.
func parseQuota(s string) (config.Size, error) {
	z, err := config.ParseSize(s)
	if err != nil {
		return 0, err
	}
	if _, bare := strconv.ParseInt(strings.TrimSpace(s), 10, 64); bare == nil && z != 0 {
		return 0, fmt.Errorf("quota %q has no unit: write %sG, %sM or %sK (or %sB for bytes); 0 means no limit", s, s, s, s, s)
	}
	return z, nil
}

// quotaText is a quota as people read it.
func quotaText(q int64) string {
	if q <= 0 {
		return "unlimited"
	}
	return humanSize(q)
}

// humanSize is n bytes in the largest unit that keeps one decimal
// ("1.5M", "2G", "512B").
func humanSize(n int64) string {
	units := []string{"B", "K", "M", "G", "T"}
	f := float64(n)
	u := 0
	for f >= 1024 && u < len(units)-1 {
		f /= 1024
		u++
	}
	if u == 0 {
		return strconv.FormatInt(n, 10) + "B"
	}
	s := strconv.FormatFloat(f, 'f', 1, 64)
	return strings.TrimSuffix(s, ".0") + units[u]
}

// userShow prints one mailbox: what postfixadmin's edit page and
// doveadm quota get show.
func (c *cli) userShow(ctx context.Context, e *env, addr string) error {
	m, err := e.dir.Mailbox(ctx, addr)
	if err != nil {
		return err
	}
	used, n, err := e.store.Usage(ctx, m.Username)
	if err != nil {
		return err
	}
	pct := ""
	if m.Quota > 0 {
		pct = fmt.Sprintf(" (%d%% of %s)", used*100/m.Quota, humanSize(m.Quota))
	}
	var aliases []string
	_, domain, _ := directory.Split(m.Username)
	as, err := e.dir.ListAliases(ctx, domain)
	if err != nil {
		return err
	}
	for _, a := range as {
		if slices.ContainsFunc(a.Goto, func(t string) bool { return strings.EqualFold(t, m.Username) }) {
			aliases = append(aliases, a.Address)
		}
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	row := func(k, v string) { fmt.Fprintf(tw, "%s:\t%s\n", k, v) }
	row("address", m.Username)
	row("name", m.Name)
	row("active", yesNo(m.Active))
	row("quota", quotaText(m.Quota))
	row("used", humanSize(used)+pct)
	row("messages", strconv.FormatInt(n, 10))
	row("maildir", e.store.MailboxPath(m.Maildir))
	row("created", m.Created.UTC().Format("2006-01-02 15:04:05 UTC"))
	row("aliases to it", strings.Join(aliases, ", "))
	return tw.Flush()
}

// aliasTargets is the targets of the alias address, nil when there is
// no such alias.
func aliasTargets(ctx context.Context, e *env, address string) ([]string, error) {
	a := strings.ToLower(strings.TrimSpace(address))
	domain := strings.TrimPrefix(a, "@")
	if _, d, err := directory.Split(a); err == nil {
		domain = d
	}
	as, err := e.dir.ListAliases(ctx, domain)
	if err != nil {
		return nil, err
	}
	for _, x := range as {
		if strings.EqualFold(x.Address, a) {
			return x.Goto, nil
		}
	}
	return nil, nil
}

// dedupe drops repeated targets (case-insensitively), keeping the order.
func dedupe(ts []string) []string {
	var out []string
	for _, t := range ts {
		t = strings.TrimSpace(t)
		if t != "" && !slices.ContainsFunc(out, func(o string) bool { return strings.EqualFold(o, t) }) {
			out = append(out, t)
		}
	}
	return out
}
