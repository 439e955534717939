package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"sort"
	"strings"

	"github.com/BurntSushi/toml"
	"golang.org/x/term"

	"mailwarden/internal/auth/password"
	"mailwarden/internal/config"
	"mailwarden/internal/directory"
)

// lookup says where mail to an address goes, as the server would decide
// it: the one command that answers "why did this bounce?".
func (c *cli) lookup(args []string) error {
	fs := flag.NewFlagSet("lookup", flag.ContinueOnError)
	ctx := context.Background()
	pos, e, err := c.parseOpen(ctx, fs, args)
	if err != nil {
		return err
	}
	defer e.close()
	if err := need(pos, 1, "lookup ADDRESS"); err != nil {
		return err
	}
	addr := pos[0]
	if !strings.Contains(addr, "@") {
		addr = qualify(addr, e.cfg.Hostname) // as sendmail does
	}
	var locals localAliases
	warnings := &strings.Builder{}
	locals.load(e.cfg, slog.New(slog.NewTextHandler(warnings, nil)))
	if warnings.Len() > 0 {
		fmt.Fprint(c.stderr, warnings.String())
	}
	cur := func() *config.Config { return e.cfg }
	e.dir.SetRelayDomains(e.cfg.IsRelayDomain)
	e.dir.SetLocalAliases(locals.expand(cur))
	if _, domain, err := directory.Split(addr); err == nil {
		if t := locals.expand(cur)(strings.SplitN(addr, "@", 2)[0], domain); t != nil {
			fmt.Fprintf(c.stdout, "%s: local alias ([local] aliases or %s) -> %s\n", addr, e.cfg.Local.AliasFile, strings.Join(t, ", "))
		}
	}
	res, err := e.dir.Resolve(ctx, addr, e.cfg.RecipientDelimiter)
	if errors.Is(err, directory.ErrUnknownUser) {
		fmt.Fprintf(c.stdout, "%s: unknown user in a domain of this server: mail to it is refused (550 5.1.1)\n", addr)
		return &exitError{code: 1}
	}
	if err != nil {
		return err
	}
	class := map[directory.DomainClass]string{
		directory.Foreign:     "a domain of somewhere else: accepted only from mynetworks or authenticated users, then sent to its MX hosts (or relayhost, transport_file)",
		directory.Virtual:     "a domain of this server",
		directory.AliasDomain: "an alias domain of this server",
		directory.BackupMX:    "a relay (backup-MX) domain: any local part is accepted and passed on",
	}[res.Class]
	fmt.Fprintf(c.stdout, "%s: %s\n", addr, class)
	if res.Class == directory.Virtual {
		c.lookupVia(ctx, e, addr)
	}
	for _, d := range res.Destinations {
		switch d.Kind {
		case directory.Local:
			state := "active"
			if !d.Mailbox.Active {
				state = "disabled"
			}
			fmt.Fprintf(c.stdout, "  -> mailbox %s (%s, quota %s, maildir %s)\n", d.Address, state, quotaText(d.Mailbox.Quota), e.store.MailboxPath(d.Mailbox.Maildir))
		case directory.Remote:
			fmt.Fprintf(c.stdout, "  -> remote %s (queued for delivery elsewhere)\n", d.Address)
		case directory.Relay:
			fmt.Fprintf(c.stdout, "  -> relay %s (queued for the domain's primary MX)\n", d.Address)
		}
	}
	return nil
}

// authTest checks a password as a login would (doveadm auth test) and
// says why it fails.
func (c *cli) authTest(args []string) error {
	if len(args) == 0 || args[0] != "test" {
		return fmt.Errorf("%w: auth test ADDRESS [--password-file F]", errUsage)
	}
	fs := flag.NewFlagSet("auth", flag.ContinueOnError)
	pwFile := fs.String("password-file", "", "read the password from this file (first line)")
	ctx := context.Background()
	pos, e, err := c.parseOpen(ctx, fs, args[1:])
	if err != nil {
		return err
	}
	defer e.close()
	if err := need(pos, 1, "auth test ADDRESS"); err != nil {
		return err
	}
	pw, err := c.readPassword(*pwFile, pos[0])
	if err != nil {
		return err
	}
	m, err := e.dir.Mailbox(ctx, pos[0])
	if errors.Is(err, directory.ErrNotFound) {
		fmt.Fprintf(c.stdout, "passdb: %s auth failed: unknown user\n", pos[0])
		return &exitError{code: 1}
	}
	if err != nil {
		return err
	}
	ok, err := password.Verify(m.PasswordHash, pw)
	reason := ""
	switch {
	case err != nil:
		reason = "stored password hash unusable: " + err.Error()
	case !ok:
		reason = "password mismatch"
	case !m.Active:
		reason = "mailbox disabled (mailwarden user enable " + m.Username + ")"
	}
	if reason != "" {
		fmt.Fprintf(c.stdout, "passdb: %s auth failed: %s\n", m.Username, reason)
		return &exitError{code: 1}
	}
	fmt.Fprintf(c.stdout, "passdb: %s auth succeeded (scheme %s)\n", m.Username, password.Scheme(m.PasswordHash))
	return nil
}

// readPassword reads one password: from a file, a terminal prompt
// without echo, or one line of standard input.
func (c *cli) readPassword(file, who string) (string, error) {
	switch {
	case file != "":
		b, err := os.ReadFile(file)
		if err != nil {
			return "", fmt.Errorf("--password-file: %w", err)
		}
		pw, _, _ := strings.Cut(string(b), "\n")
		return strings.TrimSuffix(pw, "\r"), nil
	case c.stdin == os.Stdin && term.IsTerminal(int(os.Stdin.Fd())):
		fmt.Fprintf(c.stderr, "Password for %s: ", who)
		b, err := term.ReadPassword(int(os.Stdin.Fd()))
		fmt.Fprintln(c.stderr)
		return string(b), err
	}
	line, err := bufio.NewReader(c.stdin).ReadString('\n')
	if err != nil && line == "" {
		return "", errors.New("no password given: use a terminal, --password-file F, or one line on standard input")
	}
	return strings.TrimRight(line, "\r\n"), nil
}

// configShow prints the effective configuration, one "key = value" line
// per setting (postconf); with -n only what differs from the defaults
// (postconf -n).
func (c *cli) configShow(args []string) error {
	if len(args) == 0 || args[0] != "show" {
		return fmt.Errorf("%w: config show [-n]", errUsage)
	}
	fs := flag.NewFlagSet("config", flag.ContinueOnError)
	changed := fs.Bool("n", false, "only the settings that differ from the defaults")
	if _, err := c.parse(fs, args[1:]); err != nil {
		return err
	}
	cfg, err := config.Load(config.PathFrom(c.cfgPath))
	if err != nil {
		return err
	}
	cur, err := flatConfig(cfg)
	if err != nil {
		return err
	}
	def := map[string]string{}
	if *changed {
		d := config.Default()
		d.Hostname = "" // the machine's name is no setting of the file
		if def, err = flatConfig(d); err != nil {
			return err
		}
	}
	keys := make([]string, 0, len(cur))
	for k := range cur {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if *changed && def[k] == cur[k] {
			continue
		}
		fmt.Fprintf(c.stdout, "%s = %s\n", k, cur[k])
	}
	return nil
}

// flatConfig is cfg as "table.key" -> TOML value.
func flatConfig(cfg *config.Config) (map[string]string, error) {
	var buf bytes.Buffer
	if err := toml.NewEncoder(&buf).Encode(cfg); err != nil {
		return nil, fmt.Errorf("config show: %w", err)
	}
	var tree map[string]any
	if _, err := toml.Decode(buf.String(), &tree); err != nil {
		return nil, fmt.Errorf("config show: %w", err)
	}
	out := map[string]string{}
	var walk func(prefix string, m map[string]any)
	walk = func(prefix string, m map[string]any) {
		for k, v := range m {
			key := k
			if prefix != "" {
				key = prefix + "." + k
			}
			if sub, ok := v.(map[string]any); ok {
				walk(key, sub)
				continue
			}
			var b bytes.Buffer
			toml.NewEncoder(&b).Encode(map[string]any{"v": v})
			out[key] = strings.TrimSpace(strings.TrimPrefix(b.String(), "v = "))
		}
	}
	walk("", tree)
	return out, nil
}

// lookupVia says which row of the directory an address of a local
// domain matched: its mailbox, its alias, or the domain's catch-all.
func (c *cli) lookupVia(ctx context.Context, e *env, addr string) {
	if _, err := e.dir.Mailbox(ctx, addr); err == nil {
		fmt.Fprintf(c.stdout, "  via the mailbox %s\n", strings.ToLower(addr))
		return
	}
	if t, err := aliasTargets(ctx, e, addr); err == nil && t != nil {
		fmt.Fprintf(c.stdout, "  via the alias %s -> %s\n", strings.ToLower(addr), strings.Join(t, ","))
		for _, x := range t {
			if m, err := e.dir.Mailbox(ctx, x); err == nil && !m.Active {
				fmt.Fprintf(c.stdout, "  (%s is a disabled mailbox: it gets none of it)\n", m.Username)
			}
		}
		return
	}
	if _, domain, err := directory.Split(addr); err == nil {
		if t, err := aliasTargets(ctx, e, "@"+domain); err == nil && t != nil {
			fmt.Fprintf(c.stdout, "  via the catch-all @%s -> %s\n", domain, strings.Join(t, ","))
		}
	}
}
