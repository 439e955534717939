package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"

	"golang.org/x/term"

	"mailwarden/internal/auth/mech"
	"mailwarden/internal/auth/password"
	"mailwarden/internal/config"
	"mailwarden/internal/directory"
	"mailwarden/internal/sqldb"
	"mailwarden/internal/store"
)

// env is what the admin commands work on.
type env struct {
	cfg   *config.Config
	db    *sqldb.DB
	dir   *directory.Directory
	store *store.Store
}

func (c *cli) open(ctx context.Context) (*env, error) {
	cfg, err := config.Load(config.PathFrom(c.cfgPath))
	if err != nil {
		return nil, err
	}
	return openData(ctx, cfg)
}

// parseOpen parses a subcommand's flags, then opens the data directory.
func (c *cli) parseOpen(ctx context.Context, fs *flag.FlagSet, args []string) ([]string, *env, error) {
	pos, err := c.parse(fs, args)
	if err != nil {
		return nil, nil, err
	}
	e, err := c.open(ctx)
	return pos, e, err
}

func openData(ctx context.Context, cfg *config.Config) (*env, error) {
	if err := prepareDataDir(cfg); err != nil {
		return nil, err
	}
	db, err := sqldb.Open(ctx, filepath.Join(cfg.DataDir, "mailwarden.db"))
	if err != nil {
		return nil, err
	}
	st, err := store.New(db, store.Options{Root: filepath.Join(cfg.DataDir, "mail"), Hostname: cfg.Hostname, Fsync: cfg.Delivery.Fsync})
	if err != nil {
		db.Close()
		return nil, err
	}
	return &env{cfg: cfg, db: db, dir: directory.New(db), store: st}, nil
}

func (e *env) close() { e.db.Close() }

func (c *cli) domain(args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("%w: domain add|list|del", errUsage)
	}
	fs := flag.NewFlagSet("domain", flag.ContinueOnError)
	aliasOf := fs.String("alias-of", "", "make NAME an alias domain of OTHER")
	inactive := fs.Bool("inactive", false, "create the domain inactive")
	backupMX := fs.Bool("backup-mx", false, "accept mail for the domain as a backup MX")
	desc := fs.String("description", "", "description")
	force := fs.Bool("force", false, "delete even with mailboxes")
	ctx := context.Background()
	pos, e, err := c.parseOpen(ctx, fs, args[1:])
	if err != nil {
		return err
	}
	defer e.close()
	switch args[0] {
	case "add":
		if err := need(pos, 1, "domain add NAME"); err != nil {
			return err
		}
		return e.dir.AddDomain(ctx, directory.Domain{Name: pos[0], AliasOf: *aliasOf, Active: !*inactive, BackupMX: *backupMX, Description: *desc})
	case "list":
		ds, err := e.dir.ListDomains(ctx)
		if err != nil {
			return err
		}
		tw := c.table("DOMAIN", "TYPE", "ACTIVE", "DESCRIPTION")
		for _, d := range ds {
			typ := "virtual"
			switch {
			case d.AliasOf != "":
				typ = "alias-of " + d.AliasOf
			case d.BackupMX:
				typ = "backup-mx"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", d.Name, typ, yesNo(d.Active), d.Description)
		}
		return tw.Flush()
	case "del", "delete", "rm":
		if err := need(pos, 1, "domain del NAME"); err != nil {
			return err
		}
		return e.dir.DeleteDomain(ctx, pos[0], *force)
	}
	return fmt.Errorf("%w: domain add|list|del", errUsage)
}

func (c *cli) user(args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("%w: user add|passwd|quota|show|enable|disable|del|list", errUsage)
	}
	fs := flag.NewFlagSet("user", flag.ContinueOnError)
	pwFile := fs.String("password-file", "", "read the password from this file (first line)")
	pwHash := fs.String("password-hash", "", "store this ready `HASH` ({SCHEME}..., e.g. from doveadm pw) instead of hashing a password")
	quota := fs.String("quota", "", "quota, e.g. 2G (0 = unlimited)")
	name := fs.String("name", "", "full name")
	inactive := fs.Bool("inactive", false, "create the mailbox inactive")
	purge := fs.Bool("purge", false, "with del: also remove the mail files")
	ctx := context.Background()
	pos, e, err := c.parseOpen(ctx, fs, args[1:])
	if err != nil {
		return err
	}
	defer e.close()
	switch args[0] {
	case "add":
		if err := need(pos, 1, "user add ADDRESS"); err != nil {
			return err
		}
		q := int64(e.cfg.Delivery.DefaultQuota)
		if *quota != "" {
			z, err := parseQuota(*quota)
			if err != nil {
				return fmt.Errorf("--quota: %w", err)
			}
			q = int64(z)
		}
		pw, err := c.newPassword(*pwFile, *pwHash, pos[0])
		if err != nil {
			return err
		}
		m, err := e.dir.AddMailbox(ctx, directory.Mailbox{Username: pos[0], PasswordHash: pw.hash, Name: *name, Quota: q, Active: !*inactive})
		if err != nil {
			return err
		}
		if err := e.store.EnsureMailbox(ctx, m.Username, m.Maildir); err != nil {
			return err
		}
		fmt.Fprintf(c.stdout, "created %s (maildir %s)\n", m.Username, e.store.MailboxPath(m.Maildir))
		return c.storeSCRAM(ctx, e, m.Username, pw)
	case "passwd", "password":
		if err := need(pos, 1, "user passwd ADDRESS"); err != nil {
			return err
		}
		if _, err := e.dir.Mailbox(ctx, pos[0]); err != nil {
			return err
		}
		pw, err := c.newPassword(*pwFile, *pwHash, pos[0])
		if err != nil {
			return err
		}
		if err := e.dir.SetPassword(ctx, pos[0], pw.hash); err != nil {
			return err
		}
		return c.storeSCRAM(ctx, e, pos[0], pw)
	case "quota":
		if err := need(pos, 2, "user quota ADDRESS SIZE"); err != nil {
			return err
		}
		z, err := parseQuota(pos[1])
		if err != nil {
			return err
		}
		if err := e.dir.SetQuota(ctx, pos[0], int64(z)); err != nil {
			return err
		}
		fmt.Fprintf(c.stdout, "%s: quota %s\n", pos[0], quotaText(int64(z)))
		return nil
	case "show":
		if err := need(pos, 1, "user show ADDRESS"); err != nil {
			return err
		}
		return c.userShow(ctx, e, pos[0])
	case "enable", "disable":
		if err := need(pos, 1, "user "+args[0]+" ADDRESS"); err != nil {
			return err
		}
		if err := e.dir.SetActive(ctx, pos[0], args[0] == "enable"); err != nil {
			return err
		}
		fmt.Fprintf(c.stdout, "%s: %sd\n", pos[0], args[0])
		return nil
	case "del", "delete", "rm":
		if err := need(pos, 1, "user del ADDRESS"); err != nil {
			return err
		}
		m, err := e.dir.DeleteMailbox(ctx, pos[0])
		if err != nil {
			return err
		}
		if err := e.store.DeleteMailbox(ctx, m.Username, m.Maildir, *purge); err != nil {
			return err
		}
		if !*purge {
			fmt.Fprintf(c.stdout, "deleted %s; mail files kept in %s (use --purge to remove them)\n", m.Username, e.store.MailboxPath(m.Maildir))
		}
		return nil
	case "list":
		ms, err := e.dir.ListMailboxes(ctx, optional(pos))
		if err != nil {
			return err
		}
		tw := c.table("ADDRESS", "NAME", "QUOTA", "USED", "MESSAGES", "ACTIVE")
		for _, m := range ms {
			used, n, err := e.store.Usage(ctx, m.Username)
			if err != nil {
				return err
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\n", m.Username, m.Name, quotaText(m.Quota), humanSize(used), n, yesNo(m.Active))
		}
		return tw.Flush()
	}
	return fmt.Errorf("%w: user add|passwd|quota|show|enable|disable|del|list", errUsage)
}

func (c *cli) alias(args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("%w: alias add|set|remove|list|del", errUsage)
	}
	fs := flag.NewFlagSet("alias", flag.ContinueOnError)
	replace := fs.Bool("replace", false, "with add: replace the targets (as alias set)")
	ctx := context.Background()
	pos, e, err := c.parseOpen(ctx, fs, args[1:])
	if err != nil {
		return err
	}
	defer e.close()
	switch args[0] {
	case "add", "set":
		if len(pos) < 2 {
			return fmt.Errorf("%w: alias %s ADDRESS TARGET[,TARGET...]", errUsage, args[0])
		}
		var targets []string
		for _, p := range pos[1:] {
			targets = append(targets, strings.Split(p, ",")...)
		}
		old, err := aliasTargets(ctx, e, pos[0])
		if err != nil {
			return err
		}
		if args[0] == "add" && !*replace {
			// postfixadmin's "add" never dropped targets silently: the
			// new ones join the old.
			targets = append(old, targets...)
		}
		targets = dedupe(targets)
		if err := e.dir.AddAlias(ctx, pos[0], targets); err != nil {
			return err
		}
		now, err := aliasTargets(ctx, e, pos[0])
		if err != nil {
			return err
		}
		fmt.Fprintf(c.stdout, "%s -> %s\n", pos[0], strings.Join(now, ","))
		return nil
	case "remove":
		if err := need(pos, 2, "alias remove ADDRESS TARGET"); err != nil {
			return err
		}
		old, err := aliasTargets(ctx, e, pos[0])
		if err != nil {
			return err
		}
		var keep []string
		for _, t := range old {
			if !strings.EqualFold(t, strings.TrimSpace(pos[1])) {
				keep = append(keep, t)
			}
		}
		switch {
		case old == nil:
			return fmt.Errorf("alias %s: no such alias", pos[0])
		case len(keep) == len(old):
			return fmt.Errorf("alias %s: %s is not one of its targets (%s)", pos[0], pos[1], strings.Join(old, ","))
		case len(keep) == 0:
			if err := e.dir.DeleteAlias(ctx, pos[0]); err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "%s: last target removed, alias deleted\n", pos[0])
			return nil
		}
		if err := e.dir.AddAlias(ctx, pos[0], keep); err != nil {
			return err
		}
		fmt.Fprintf(c.stdout, "%s -> %s\n", pos[0], strings.Join(keep, ","))
		return nil
	case "list":
		as, err := e.dir.ListAliases(ctx, optional(pos))
		if err != nil {
			return err
		}
		tw := c.table("ADDRESS", "TARGETS", "ACTIVE")
		for _, a := range as {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", a.Address, strings.Join(a.Goto, ","), yesNo(a.Active))
		}
		return tw.Flush()
	case "del", "delete", "rm":
		if err := need(pos, 1, "alias del ADDRESS"); err != nil {
			return err
		}
		return e.dir.DeleteAlias(ctx, pos[0])
	}
	return fmt.Errorf("%w: alias add|set|remove|list|del", errUsage)
}

// newPass is a password as `user add` and `user passwd` store it: its
// hash, and the plaintext when it was given (not with --password-hash).
type newPass struct{ hash, plain string }

// newPassword reads a password from a file, a terminal prompt without
// echo (asked twice), or one line of standard input, and hashes it; or
// takes a ready hash (--password-hash) after checking it is one of the
// schemes logins can verify.
func (c *cli) newPassword(file, hash, who string) (newPass, error) {
	if hash != "" {
		if file != "" {
			return newPass{}, errors.New("--password-hash and --password-file exclude each other")
		}
		if password.Scheme(hash) == "" {
			return newPass{}, errors.New("--password-hash: not a {SCHEME} hash or crypt string this server can verify (see docs/migrate-dovecot.md)")
		}
		if _, err := password.Verify(hash, "\x00"); err != nil {
			return newPass{}, fmt.Errorf("--password-hash: %w", err)
		}
		return newPass{hash: hash}, nil
	}
	var pw string
	switch {
	case file != "":
		b, err := os.ReadFile(file)
		if err != nil {
			return newPass{}, fmt.Errorf("--password-file: %w", err)
		}
		pw, _, _ = strings.Cut(string(b), "\n")
		pw = strings.TrimSuffix(pw, "\r")
	case c.stdin == os.Stdin && term.IsTerminal(int(os.Stdin.Fd())):
		fmt.Fprintf(c.stderr, "Password for %s: ", who)
		a, err := term.ReadPassword(int(os.Stdin.Fd()))
		fmt.Fprintln(c.stderr)
		if err != nil {
			return newPass{}, err
		}
		fmt.Fprint(c.stderr, "Again: ")
		b, err := term.ReadPassword(int(os.Stdin.Fd()))
		fmt.Fprintln(c.stderr)
		if err != nil {
			return newPass{}, err
		}
		if string(a) != string(b) {
			return newPass{}, errors.New("passwords do not match")
		}
		pw = string(a)
	default:
		line, err := bufio.NewReader(c.stdin).ReadString('\n')
		if err != nil && line == "" {
			return newPass{}, errors.New("no password given: use a terminal, --password-file F, or one line on standard input")
		}
		pw = strings.TrimRight(line, "\r\n")
	}
	if len(pw) < 8 {
		return newPass{}, errors.New("password too short: use at least 8 characters")
	}
	h, err := password.Hash(pw)
	return newPass{hash: h, plain: pw}, err
}

// storeSCRAM stores SCRAM-SHA-256 keys for a new password when
// auth.mechanisms offers SCRAM-SHA-256. Without the plaintext (a hash
// given with --password-hash) it cannot, unless the hash is itself
// {SCRAM-SHA-256}: it says so, and the first password login stores them.
func (c *cli) storeSCRAM(ctx context.Context, e *env, addr string, pw newPass) error {
	if !slices.Contains(mech.Offered(e.cfg), mech.SCRAMSHA256) {
		return nil
	}
	if pw.plain == "" {
		if _, ok, _ := password.SCRAMSHA256Keys(pw.hash); !ok {
			fmt.Fprintf(c.stderr, "note: no SCRAM-SHA-256 keys for %s until its first password (PLAIN/LOGIN) login\n", addr)
		}
		return nil
	}
	k, err := password.NewSCRAMKeys(pw.plain, e.cfg.Auth.SCRAMIterations)
	if err != nil {
		return err
	}
	return e.dir.SetSCRAMKeys(ctx, addr, pw.hash, k)
}

// table starts a listing with its column headings.
func (c *cli) table(cols ...string) *tabwriter.Writer {
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(cols, "\t"))
	return tw
}

// optional is the first positional argument, or "".
func optional(pos []string) string {
	if len(pos) > 0 {
		return pos[0]
	}
	return ""
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func (c *cli) importMaildir(args []string) error {
	fs := flag.NewFlagSet("import-maildir", flag.ContinueOnError)
	ctx := context.Background()
	pos, e, err := c.parseOpen(ctx, fs, args)
	if err != nil {
		return err
	}
	defer e.close()
	if err := need(pos, 2, "import-maildir ADDRESS DIR"); err != nil {
		return err
	}
	// ADDRESS, or @DOMAIN for a tree of the domain's shared mailboxes
	// (Dovecot's public namespace).
	a, err := e.aclOwner(ctx, pos[0])
	if err != nil {
		return err
	}
	st, err := e.store.Import(ctx, a, pos[1])
	if err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "imported %d messages in %d folders into %s (%d kept their UIDs)\n", st.Messages, st.Folders, a.Username, st.KeptUIDs)
	return nil
}
