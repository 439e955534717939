package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"mailwarden/internal/auth/login"
	"mailwarden/internal/block"
	"mailwarden/internal/config"
	"mailwarden/internal/daemon"
	"mailwarden/internal/delivery"
	"mailwarden/internal/dnsx"
	"mailwarden/internal/event"
	"mailwarden/internal/greylist"
	"mailwarden/internal/imapserver"
	"mailwarden/internal/metrics"
	"mailwarden/internal/mlog"
	"mailwarden/internal/msgauth"
	"mailwarden/internal/netserve"
	"mailwarden/internal/policy"
	"mailwarden/internal/pop3server"
	"mailwarden/internal/queue"
	"mailwarden/internal/sessions"
	"mailwarden/internal/smtpserver"
	"mailwarden/internal/store"
	"mailwarden/internal/tlsconf"
)

func (c *cli) serve(args []string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile to this file until exit (for benchmarks)")
	if _, err := c.parse(fs, args); err != nil {
		return err
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	path := config.PathFrom(c.cfgPath)
	cfg, err := loadServerConfig(path)
	if err != nil {
		return err
	}
	return c.serveConfig(cfg, nil)
}

// mailLog is the event bus with the log writer subscribed, and a slog
// logger publishing free-text notes onto it.
type mailLog struct {
	bus    *event.Bus
	w      *mlog.Writer
	logger *slog.Logger
}

// openMailLog builds the mail log for cfg; stderr is where it goes when
// neither [log] file nor syslog is set.
func openMailLog(cfg *config.Config, stderr io.Writer) (*mailLog, error) {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(cfg.Log.Level)); err != nil {
		return nil, fmt.Errorf("log.level: %w", err)
	}
	w, err := mlog.Open(mlog.Options{Host: cfg.Hostname, Name: cfg.Log.SyslogName, Level: lvl,
		JSON: cfg.Log.Format == "json", File: cfg.Log.File, Syslog: cfg.Log.Syslog, Stderr: stderr})
	if err != nil {
		return nil, err
	}
	bus := event.NewBus(w)
	return &mailLog{bus: bus, w: w, logger: mlog.NewLogger(bus, lvl)}, nil
}

func (m *mailLog) Close() error { return m.w.Close() }

// adminLog is the mail log of administrative commands: the configured
// file or syslog, never standard error (the command's own output), as
// postsuper writes to syslog only.
func adminLog(cfg *config.Config) (event.Publisher, func()) {
	if cfg.Log.File != "" || cfg.Log.Syslog {
		if ml, err := openMailLog(cfg, io.Discard); err == nil {
			return ml.bus, func() { ml.Close() }
		}
	}
	return event.Discard, func() {}
}

// serveConfig runs the server until SIGTERM/SIGINT. ready, when not nil,
// is called once every listener is up.
func (c *cli) serveConfig(cfg *config.Config, ready func()) error {
	// Signals are caught from the start: a SIGTERM that arrives while the
	// listeners open is acted on once they are up, not lost to the default
	// action.
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	defer signal.Stop(sigs)
	started := time.Now()
	// A server already on this data_dir is named before anything else
	// (its ports are taken too: that would be the less useful message).
	if pid, ok, _ := daemon.Running(cfg.DataDir); ok {
		return &daemon.HeldError{DataDir: cfg.DataDir, Pid: pid}
	}
	// Every port is bound first, so a taken one stops the start before
	// anything else happens.
	bound, err := bindAll(cfg)
	if err != nil {
		return err
	}
	defer bound.closeAll() // after a failed start; Shutdown closes them otherwise
	// Started as root: the ports are bound; data_dir is made (or found)
	// the configured user's, and everything after runs as that user, log
	// file and data included.
	acct, err := lookupAccount(cfg)
	if err != nil {
		return err
	}
	if os.Geteuid() == 0 && acct != nil {
		if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
			return fmt.Errorf("data_dir %s: %w", cfg.DataDir, err)
		}
		if err := chownDataDir(cfg.DataDir, acct); err != nil {
			return err
		}
	}
	if err := dropPrivileges(acct); err != nil {
		return err
	}
	ml, err := openMailLog(cfg, c.stderr)
	if err != nil {
		return err
	}
	defer ml.Close()
	logger, bus := ml.logger, ml.bus
	mainLog := mlog.Component(logger, "master")
	ctx := context.Background()
	if err := prepareDataDir(cfg); err != nil {
		return err
	}
	lock, err := daemon.Acquire(cfg.DataDir)
	if err != nil {
		return err
	}
	defer lock.Release()
	e, err := openData(ctx, cfg)
	if err != nil {
		return err
	}
	defer e.close()

	crashed, err := e.store.StartServing()
	if err != nil {
		return err
	}
	if crashed {
		if err := recoverStore(ctx, e, mainLog); err != nil {
			return err
		}
	}
	defer func() {
		if err := e.store.StopServing(); err != nil {
			mainLog.Error("cannot write clean-shutdown marker: " + err.Error())
		}
	}()

	q, err := queue.New(e.db, filepath.Join(cfg.DataDir, "queue"), cfg.Delivery.Fsync)
	if err != nil {
		return err
	}
	if cfg.Metrics.Listen != "" {
		// The second subscriber: counts the same events the log writes.
		m := metrics.New(q)
		bus.Subscribe(m)
		ms, err := m.Listen(cfg.Metrics.Listen)
		if err != nil {
			return err
		}
		go func() {
			if err := ms.Serve(); err != nil {
				mainLog.Error(err.Error())
			}
		}()
		defer ms.Shutdown(context.Background())
		mainLog.Info("metrics listening on " + ms.Addr().String())
	}
	if crashed {
		n, err := q.SweepAfterCrash(ctx)
		if err != nil {
			return err
		}
		if n > 0 {
			mainLog.Info(fmt.Sprintf("recovery: removed %d queue files of messages already delivered", n))
		}
	}
	resolver, err := dnsx.New(cfg.DNS.Resolvers, cfg.DNS.Timeout.D())
	if err != nil {
		return fmt.Errorf("dns: %w", err)
	}
	spoolDir := filepath.Join(cfg.DataDir, "spool")
	if err := os.MkdirAll(spoolDir, 0o700); err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	certFile, keyFile, generated, err := tlsconf.Files(cfg.TLS.CertFile, cfg.TLS.KeyFile, cfg.DataDir, cfg.Hostname)
	if err != nil {
		return err
	}
	if generated {
		mainLog.Warn("generated a self-signed certificate " + certFile + "; set [tls] cert_file and key_file for a real one")
	}
	certs, err := tlsconf.New(certFile, keyFile)
	if err != nil {
		return err
	}

	var current atomic.Pointer[config.Config]
	current.Store(cfg)
	e.dir.SetRelayDomains(func(d string) bool { return current.Load().IsRelayDomain(d) })
	var locals localAliases
	locals.load(cfg, mainLog)
	e.dir.SetLocalAliases(locals.expand(current.Load))
	auth := login.New(e.dir, current.Load, mlog.Component(logger, "auth"))
	limiter, stopLimits := startLimits(ctx, e, current.Load, auth, bus, logger)
	defer stopLimits()
	// One local delivery path: the SMTP sessions (through the router) and
	// the queue runner (Queued) file copies through the same Local.
	local := &delivery.Local{Store: e.store, Folder: delivery.Quarantined(delivery.Inbox), Dir: e.dir,
		Delims: func() string { return current.Load().RecipientDelimiter }, Log: mlog.Component(logger, "local"), Events: bus}
	router := &delivery.Router{Local: local, Store: e.store, Queue: q, Log: mlog.Component(logger, "local"), Events: bus}
	// check_greylist: postgrey and taRgrey, state in the database.
	grey, err := greylist.Open(e.db, cfg.Greylist, greylist.Options{Log: mlog.Component(logger, "greylist"),
		RecipientDelimiter: cfg.RecipientDelimiter, Hostname: cfg.Hostname, Version: version,
		DNS: resolver, DNSCache: policy.NewDNSCache(0), SPFPass: policy.SPFPass})
	if err != nil {
		return err
	}
	defer grey.Close()
	// SPF, DKIM, DomainKeys, ARC and DMARC: built per config, checked now.
	auths := &msgauth.Source{Deps: func(*config.Config) msgauth.Deps {
		return msgauth.Deps{DB: e.db, DNS: resolver, Log: mlog.Component(logger, "msgauth")}
	}}
	if _, err := auths.For(cfg); err != nil {
		return err
	}
	smtpd := smtpserver.New(smtpserver.Options{
		MsgAuth:      auths.For,
		Config:       current.Load,
		Resolver:     e.dir,
		Deliverer:    router,
		TLS:          certs.Config(),
		Logger:       mlog.Component(logger, "smtpd"),
		Events:       bus,
		SpoolDir:     spoolDir,
		DNS:          resolver,
		Restrictions: map[string]policy.Factory{"check_greylist": grey.Factory()},
		Limiter:      limiter,
	})

	// The logged-in IMAP and POP3 sessions, for mailwarden who and kick.
	var live sessions.Registry
	pop3 := func(implicit bool) *pop3server.Server {
		return pop3server.New(pop3server.Options{Config: current.Load, Auth: auth, Store: pop3Store{e.store},
			TLS: certs.Config(), Logger: mlog.Component(logger, "pop3"), Events: bus, Implicit: implicit, Sessions: &live})
	}
	imap := func(implicit bool) *imapserver.Server {
		return imapserver.New(imapserver.Options{Config: current.Load, Auth: auth, Store: e.store, Directory: e.dir,
			TLS: certs.Config(), Logger: mlog.Component(logger, "imap"), Events: bus, Implicit: implicit, Sessions: &live})
	}
	runner := queue.NewRunner(q, queue.RunnerOptions{Config: current.Load, Resolver: resolver,
		Local: local.Queued, Route: local.Route, Logger: mlog.Component(logger, "smtp"), Events: bus,
		MinBackoff: cfg.Queue.MinimalBackoffTime.D(), MaxBackoff: cfg.Queue.MaximalBackoffTime.D(),
		MaxLifetime: cfg.Queue.MaximalQueueLifetime.D(), BounceLifetime: cfg.Queue.BounceQueueLifetime.D(),
		DelayWarning: cfg.Queue.DelayWarningTime.D(), DestinationConcurrency: cfg.Queue.DestinationConcurrencyLimit,
		Concurrency: cfg.Queue.ConcurrencyLimit})
	// Changes other processes (import-maildir, admin commands, other
	// nodes) commit reach this process's IDLE sessions through SQL.
	feed, err := e.store.NewFeed(ctx)
	if err != nil {
		return err
	}
	fctx, stopFeed := context.WithCancel(ctx)
	defer stopFeed()
	go feed.Run(fctx, changePollInterval, changePruneInterval)
	rctx, stopRunner := context.WithCancel(ctx)
	runnerDone := make(chan struct{})
	go func() {
		runner.Run(rctx)
		close(runnerDone)
	}()
	// On every return: stop the runner and let in-flight deliveries finish.
	defer func() {
		stopRunner()
		<-runnerDone
	}()
	defer startDMARC(ctx, e, q, resolver, current.Load, local.Route, mlog.Component(logger, "dmarc"))()
	sub := func(m smtpserver.Mode, component string) *smtpserver.Server {
		return smtpserver.New(smtpserver.Options{Config: current.Load, Resolver: e.dir, Deliverer: router,
			TLS: certs.Config(), Logger: mlog.Component(logger, component), Events: bus, SpoolDir: spoolDir, Mode: m, Auth: auth,
			DNS: resolver, Limiter: limiter, MsgAuth: auths.For})
	}
	pick, err := startPickup(e, cfg, &current, router, mlog.Component(logger, "pickup"), bus, spoolDir, auths.For)
	if err != nil {
		return err
	}
	defer pick.stop()
	services := []service{
		{"pickup", event.Pickup, pick.srv},
		{"smtp", event.Smtpd, smtpd},
		{"submission", event.Submission, sub(smtpserver.Submission, "submission")},
		{"submissions", event.Submissions, sub(smtpserver.Submissions, "submissions")},
		{"imap", event.IMAPLogin, imap(false)},
		{"imaps", event.IMAPLogin, imap(true)},
		{"pop3", event.POP3Login, pop3(false)},
		{"pop3s", event.POP3Login, pop3(true)},
	}
	// The block list (mailwarden block add) as of now, kept current by a
	// poll of its change counter, checked at accept on every listener.
	blocks, err := block.NewWatcher(ctx, block.NewStore(e.db), mainLog)
	if err != nil {
		return err
	}
	bctx, stopBlocks := context.WithCancel(ctx)
	defer stopBlocks()
	go blocks.Run(bctx, blockPollInterval)
	guard := func(svc service, l net.Listener) net.Listener {
		return netserve.Guard(l, blocks.Blocked, func(ip netip.Addr, reason string) {
			bus.Publish(&event.Blocked{Program: svc.program, Client: event.Peer{IP: ip}, Reason: reason})
		})
	}
	var wg sync.WaitGroup
	conns := map[string]*atomic.Int64{}
	for _, svc := range services {
		conns[svc.name] = new(atomic.Int64)
	}
	count := func(svc service, l net.Listener) net.Listener {
		return daemon.Counted(guard(svc, l), conns[svc.name])
	}
	startServices(services, bound, count, &wg, mainLog)
	pick.start(&wg)
	var reloads atomic.Int64
	var lastReload atomic.Pointer[string]
	cctx, stopControl := context.WithCancel(ctx)
	defer stopControl()
	status := func() daemon.Status {
		st := daemon.Status{Pid: os.Getpid(), Version: versionString(), Config: cfg.Path, Started: started,
			Conns: map[string]int64{}, Reloads: int(reloads.Load()), LoggedIn: live.Len()}
		for _, b := range bound {
			st.Listeners = append(st.Listeners, daemon.Listener{Service: b.service, Addr: b.l.Addr().String()})
		}
		for name, n := range conns {
			if v := n.Load(); v > 0 || name != "pickup" {
				st.Conns[name] = v
			}
		}
		if r := lastReload.Load(); r != nil {
			st.LastReload = *r
		}
		qctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		if n, err := q.Count(qctx, time.Now()); err == nil {
			st.Queue = daemon.QueueCounts{Active: n.Active, Deferred: n.Deferred, Hold: n.Hold}
		}
		return st
	}
	if err := daemon.ServeControl(cctx, cfg.DataDir, daemon.Handlers{Status: status,
		Who: func() []daemon.Session { return whoSessions(&live) },
		Kick: func(ctx context.Context, match string) daemon.Kicked {
			return kickSessions(ctx, &live, match, mainLog)
		}}); err != nil {
		return err
	}
	if acct != nil {
		mainLog.Info(fmt.Sprintf("running as %s (uid %d, gid %d)", acct.name, os.Getuid(), os.Getgid()))
	}
	mainLog.Info(fmt.Sprintf("daemon started -- version %s, configuration %s", versionString(), cfg.Path))
	if ready != nil {
		ready()
	}

	for sig := range sigs {
		if sig == syscall.SIGHUP {
			if err := ml.w.Reopen(); err != nil {
				mainLog.Error("reopening the mail log: " + err.Error())
			}
			r := reload(&current, certs, mainLog)
			locals.load(current.Load(), mainLog)
			if err := grey.Reload(current.Load().Greylist); err != nil {
				mainLog.Error("reload: " + err.Error() + "; keeping the running [greylist] settings")
				r += "; [greylist]: " + err.Error()
			}
			lastReload.Store(&r)
			reloads.Add(1)
			continue
		}
		mainLog.Info("terminating on signal " + sig.String())
		break
	}
	pick.stop() // no new maildrop sessions during the shutdown
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var swg sync.WaitGroup
	for _, svc := range services {
		swg.Add(1)
		go func(svc service) {
			defer swg.Done()
			if err := svc.srv.Shutdown(sctx); err != nil {
				mainLog.Warn(svc.name + " shutdown: " + err.Error())
			}
		}(svc)
	}
	swg.Wait()
	wg.Wait()
	stopRunner()
	<-runnerDone
	mainLog.Info("daemon stopped")
	return nil
}

// How often the server checks the block list for changes: a block or
// unblock applies within about this long, on every node.
const blockPollInterval = time.Second

// How often the server reads mail_change for changes made by other
// processes, and how often it prunes rows older than an hour.
const (
	changePollInterval  = time.Second
	changePruneInterval = 10 * time.Minute
)

// reload re-reads the config file and certificates after SIGHUP, and
// says which changed settings only a restart applies. It returns its
// outcome for mailwarden reload and status.
func reload(current *atomic.Pointer[config.Config], certs *tlsconf.Source, log *slog.Logger) string {
	old := current.Load()
	if old.Path == "" {
		log.Info("reload: running on built-in defaults, nothing to re-read")
		return "ok: running on built-in defaults, nothing to re-read"
	}
	cfg, err := loadServerConfig(old.Path)
	if err != nil {
		log.Error("reload failed, keeping the running configuration: " + err.Error())
		return "failed, keeping the running configuration: " + err.Error()
	}
	out := "ok"
	if keys := restartKeys(old, cfg); len(keys) > 0 {
		msg := "changes to " + strings.Join(keys, ", ") + " need a restart (mailwarden stop, then start it again); the running server keeps the old values"
		log.Warn("reload: " + msg)
		out += "; " + msg
	}
	current.Store(cfg)
	if err := certs.Reload(); err != nil {
		log.Error("reload: " + err.Error())
		out += "; " + err.Error()
	}
	log.Info("reload -- configuration " + cfg.Path)
	return out
}

func recoverStore(ctx context.Context, e *env, log *slog.Logger) error {
	log.Warn("previous run did not shut down cleanly; checking Maildirs against the index")
	ms, err := e.dir.ListMailboxes(ctx, "")
	if err != nil {
		return err
	}
	accts := make([]store.Account, len(ms))
	for i, m := range ms {
		accts[i] = store.Account{Username: m.Username, Maildir: m.Maildir}
	}
	shared, err := e.store.SharedAccounts(ctx)
	if err != nil {
		return err
	}
	accts = append(accts, shared...)
	st, err := e.store.Recover(ctx, accts)
	if err != nil {
		return fmt.Errorf("recover: %w", err)
	}
	log.Info(fmt.Sprintf("recovery done: %d folders checked, %d messages indexed, %d stale index rows removed, %d tmp files cleaned",
		st.Folders, st.Added, st.Removed, st.TmpCleaned))
	return nil
}

// server is what every protocol server offers to serve.
type server interface {
	Serve(net.Listener) error
	Shutdown(context.Context) error
}

// service is one protocol (its addresses are bound by bindAll).
type service struct {
	name    string
	program event.Program // logs and counts its blocked connections
	srv     server
}

// startServices serves each bound listener of each service, wrapped by
// guard, in its own goroutine.
func startServices(services []service, bound boundListeners, guard func(service, net.Listener) net.Listener, wg *sync.WaitGroup, log *slog.Logger) {
	for _, svc := range services {
		for _, b := range bound {
			if b.service != svc.name {
				continue
			}
			l := guard(svc, b.l)
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := svc.srv.Serve(l); err != nil && !errors.Is(err, net.ErrClosed) {
					log.Error(svc.name + " listener " + l.Addr().String() + ": " + err.Error())
				}
			}()
			log.Info(svc.name + " listening on " + l.Addr().String())
		}
	}
}
