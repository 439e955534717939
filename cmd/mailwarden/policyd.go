package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"mailwarden/internal/config"
	"mailwarden/internal/dnsx"
	"mailwarden/internal/greylist"
	"mailwarden/internal/mlog"
	"mailwarden/internal/policy"
	"mailwarden/internal/policyd"
)

// policydUse is the usage line of `mailwarden policyd`.
const policydUse = "policyd --listen ADDR [--targrey] [--restriction ENTRY]... [--max-connections N]"

// stringList is a repeatable flag.
type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ", ") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

// policyd serves Postfix's policy delegation protocol from Mailwarden's
// checks: `check_policy_service inet:127.0.0.1:10023` in Postfix's
// smtpd_recipient_restrictions (and smtpd_data_restrictions for the
// tarpit) reaches them. SIGTERM stops it, SIGHUP re-reads the config.
func (c *cli) policyd(args []string) error {
	fs := flag.NewFlagSet("policyd", flag.ContinueOnError)
	listen := fs.String("listen", "", "address to serve on: 127.0.0.1:10023, inet:HOST:PORT or unix:/path")
	targrey := fs.Bool("targrey", false, "greylist with taRgrey's tarpit ([greylist] tarpit, 125s when not set; S25R clients per tarpit_s25r)")
	maxConns := fs.Int("max-connections", 200, "connections served at once")
	var entries stringList
	fs.Var(&entries, "restriction", "a restriction list entry, Postfix syntax (repeatable; default check_greylist)")
	pos, err := c.parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 || *listen == "" {
		return fmt.Errorf("%w: %s", errUsage, policydUse)
	}
	if len(entries) == 0 {
		entries = stringList{"check_greylist"}
	}
	network, addr, err := policydAddr(*listen)
	if err != nil {
		return err
	}
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	defer signal.Stop(sigs)

	path := config.PathFrom(c.cfgPath)
	cfg, err := loadServerConfig(path)
	if err != nil {
		return err
	}
	ml, err := openMailLog(cfg, c.stderr)
	if err != nil {
		return err
	}
	defer ml.Close()
	log := mlog.Component(ml.logger, "policyd")
	ctx := context.Background()
	e, err := openData(ctx, cfg)
	if err != nil {
		return err
	}
	defer e.close()
	// check_greylist: postgrey and taRgrey, state in the database, as in
	// serve.
	// [greylist] dnswl asks DNS as serve does.
	resolver, err := dnsx.New(cfg.DNS.Resolvers, cfg.DNS.Timeout.D())
	if err != nil {
		return err
	}
	grey, err := greylist.Open(e.db, policydGreylist(cfg, *targrey), greylist.Options{Log: mlog.Component(ml.logger, "greylist"),
		RecipientDelimiter: cfg.RecipientDelimiter, Hostname: cfg.Hostname, Version: version,
		DNS: resolver, DNSCache: policy.NewDNSCache(0), SPFPass: policy.SPFPass})
	if err != nil {
		return err
	}
	defer grey.Close()
	factories := map[string]policy.Factory{"check_greylist": grey.Factory()}
	list, err := policydList(cfg, entries, factories, log)
	if err != nil {
		return err
	}
	var current atomic.Pointer[config.Config]
	current.Store(cfg)
	var lists atomic.Pointer[policy.List]
	lists.Store(&list)
	srv := policyd.New(policyd.Options{
		List:           func() policy.List { return *lists.Load() },
		MyNetworks:     func(ip netip.Addr) bool { return current.Load().InMyNetworks(ip) },
		Log:            log,
		MaxConnections: *maxConns,
		// The tarpit as taRgrey does it: Postfix sleeps, not policyd.
		SleepElsewhere: greylist.SleepElsewhere,
		SPF:            policydSPF(&current, resolver),
	})
	if network == "unix" {
		os.Remove(addr) // a socket left by a previous run
	}
	l, err := net.Listen(network, addr)
	if err != nil {
		return fmt.Errorf("policyd: %w", err)
	}
	if network == "unix" {
		// Postfix's smtpd runs as another user; protect the socket by its
		// directory.
		os.Chmod(addr, 0o666)
		defer os.Remove(addr)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()
	log.Info(fmt.Sprintf("policyd started -- listening on %s, restrictions %s", l.Addr(), strings.Join(entries, ", ")))

	for {
		select {
		case err := <-served:
			return fmt.Errorf("policyd: %w", err)
		case sig := <-sigs:
			if sig != syscall.SIGHUP {
				log.Info("terminating on signal " + sig.String())
				sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
				err := srv.Shutdown(sctx)
				cancel()
				if err != nil && !errors.Is(err, context.DeadlineExceeded) {
					return err
				}
				log.Info("policyd stopped")
				return nil
			}
			if err := ml.w.Reopen(); err != nil {
				log.Error("reopening the mail log: " + err.Error())
			}
			ncfg, err := loadServerConfig(path)
			if err != nil {
				log.Error("reload failed, keeping the running configuration: " + err.Error())
				continue
			}
			if err := grey.Reload(policydGreylist(ncfg, *targrey)); err != nil {
				log.Error("reload failed, keeping the running configuration: " + err.Error())
				continue
			}
			nl, err := policydList(ncfg, entries, factories, log)
			if err != nil {
				log.Error("reload failed, keeping the running configuration: " + err.Error())
				continue
			}
			current.Store(ncfg)
			lists.Store(&nl)
			log.Info("reload -- configuration " + ncfg.Path)
		}
	}
}

// taRgreyTarpit is taRgrey's classic tarpit, used by --targrey when
// [greylist] tarpit is not set.
const taRgreyTarpit = 125 * time.Second

// policydGreylist is cfg's [greylist], with the tarpit on for --targrey.
func policydGreylist(cfg *config.Config, targrey bool) config.Greylist {
	g := cfg.Greylist
	if targrey && g.Tarpit <= 0 {
		g.Tarpit = config.Duration(taRgreyTarpit)
	}
	return g
}

// policydAddr reads --listen: "host:port", "inet:host:port",
// "unix:/path" or an absolute path.
func policydAddr(s string) (network, addr string, err error) {
	switch {
	case strings.HasPrefix(s, "unix:"):
		network, addr = "unix", strings.TrimPrefix(s, "unix:")
	case strings.HasPrefix(s, "/"):
		network, addr = "unix", s
	default:
		network, addr = "tcp", strings.TrimPrefix(s, "inet:")
		if _, _, err := net.SplitHostPort(addr); err != nil {
			return "", "", fmt.Errorf("policyd --listen %q: want host:port, inet:host:port or unix:/path", s)
		}
	}
	if addr == "" {
		return "", "", fmt.Errorf("policyd --listen %q: empty address", s)
	}
	return network, addr, nil
}

// policydList builds the checks of entries as a recipient restriction
// list of cfg (its restriction classes and policy_service_* settings
// apply), with the extra factories.
func policydList(cfg *config.Config, entries []string, factories map[string]policy.Factory, log *slog.Logger) (policy.List, error) {
	c := *cfg
	c.Restrictions.Recipient = entries
	c.Restrictions.Set = map[string]bool{"recipient": true}
	// check_spf as policyd-spf answers it: with the Received-SPF field to
	// prepend (the SMTP server writes that field itself; Postfix needs
	// it in the answer).
	fs := maps.Clone(factories)
	fs["check_spf"] = func(_ policy.Kind, args []string) (policy.Check, error) {
		if len(args) > 0 {
			return nil, errors.New("check_spf takes no argument")
		}
		return policy.CheckSPFPrepend(cfg.SPF), nil
	}
	ls, err := policy.Build("smtp", &c, policy.Deps{Restrictions: fs, Log: log})
	if err != nil {
		var be *policy.BuildError
		if errors.As(err, &be) {
			return nil, fmt.Errorf("policyd --restriction %q: %w", be.Entry, be.Err)
		}
		return nil, err
	}
	return ls.Recipient, nil
}
