package main

import (
	"context"
	"errors"
	"log/slog"
	"mailwarden/internal/event"
	"net"
	"sync"
	"sync/atomic"

	"mailwarden/internal/config"
	"mailwarden/internal/delivery"
	"mailwarden/internal/msgauth"
	"mailwarden/internal/pickup"
	"mailwarden/internal/smtpserver"
)

// pickupService is local submission: the socket `mailwarden sendmail`
// talks to and the maildrop picker, both served by one Pickup-mode SMTP
// server.
type pickupService struct {
	srv    *smtpserver.Server
	sock   *pickup.Listener
	pipe   *pickup.PipeListener
	picker *pickup.Picker
	log    *slog.Logger

	cancel   context.CancelFunc
	done     chan struct{}
	stopOnce sync.Once
}

// startPickup prepares the directories and binds the socket; start serves.
func startPickup(e *env, cfg *config.Config, current *atomic.Pointer[config.Config], router *delivery.Router, log *slog.Logger, events event.Publisher, spoolDir string,
	auths func(*config.Config) (*msgauth.Auth, error)) (*pickupService, error) {
	notes, err := pickup.Prepare(cfg.DataDir)
	if err != nil {
		return nil, err
	}
	for _, n := range notes {
		log.Warn(n)
	}
	sock, err := pickup.Listen(pickup.SocketPath(cfg.DataDir))
	if err != nil {
		return nil, err
	}
	sock.OnError = func(err error) { log.Warn(err.Error()) }
	p := &pickupService{
		srv: smtpserver.New(smtpserver.Options{Config: current.Load, Resolver: e.dir, Deliverer: router,
			Logger: log, Events: events, SpoolDir: spoolDir, Mode: smtpserver.Pickup, MsgAuth: auths}),
		sock: sock,
		pipe: pickup.NewPipeListener(),
		log:  log,
		done: make(chan struct{}),
	}
	p.picker = &pickup.Picker{Dir: pickup.MaildropDir(cfg.DataDir), Corrupt: pickup.CorruptDir(cfg.DataDir),
		Dial: p.pipe.Dial, Hostname: func() string { return current.Load().Hostname }, Log: log}
	return p, nil
}

// start serves the socket and the picker's pipe and starts the picker.
func (p *pickupService) start(wg *sync.WaitGroup) {
	for _, l := range []net.Listener{p.sock, p.pipe} {
		wg.Add(1)
		go func(l net.Listener) {
			defer wg.Done()
			if err := p.srv.Serve(l); err != nil && !errors.Is(err, net.ErrClosed) && !errors.Is(err, smtpserver.ErrServerClosed) {
				p.log.Error("listener " + l.Addr().String() + ": " + err.Error())
			}
		}(l)
	}
	p.log.Info("pickup listening on " + p.sock.Addr().String())
	ctx, cancel := context.WithCancel(context.Background())
	p.cancel = cancel
	go func() {
		defer close(p.done)
		p.picker.Run(ctx)
	}()
}

// stop ends the picker (its current file finishes) and closes the pipe.
func (p *pickupService) stop() {
	p.stopOnce.Do(func() {
		if p.cancel != nil {
			p.cancel()
			<-p.done
		}
		p.pipe.Close()
		p.sock.Close()
	})
}
