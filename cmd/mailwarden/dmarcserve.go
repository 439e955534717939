package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"mailwarden/internal/config"
	"mailwarden/internal/dnsx"
	"mailwarden/internal/msgauth/dmarcreport"
	"mailwarden/internal/queue"
	"mailwarden/internal/store"
)

// startDMARC runs serve's DMARC jobs until the returned stop is called:
// the aggregate reports of finished periods are sent (when [dmarc]
// send_reports is on; claimed in SQL, so one node of several sends each)
// and the [dmarc] report_mailbox is read for the reports others send us.
func startDMARC(ctx context.Context, e *env, q *queue.Queue, dns dnsx.Resolver, current func() *config.Config,
	route func(context.Context, string) (string, error), log *slog.Logger) (stop func()) {
	host, _ := os.Hostname()
	s := &dmarcreport.Sender{DB: e.db, Queue: q, DNS: dns, Config: current, Route: route, Log: log,
		Node: fmt.Sprintf("%s[%d]", host, os.Getpid())}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			cfg := current()
			if _, err := s.SendDue(ctx); err != nil && ctx.Err() == nil {
				log.Warn("dmarc: reports: " + err.Error())
			}
			if addr := cfg.DMARC.ReportMailbox; addr != "" {
				if err := scanReportMailbox(ctx, e, addr, log); err != nil && ctx.Err() == nil {
					log.Warn(err.Error())
				}
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(dmarcreport.Poll(cfg.DMARC.ReportInterval.D())):
			}
		}
	}()
	return func() {
		cancel()
		<-done
	}
}

// scanReportMailbox imports the reports that arrived in the report
// mailbox's INBOX since the last scan.
func scanReportMailbox(ctx context.Context, e *env, addr string, log *slog.Logger) error {
	mb, err := e.dir.Mailbox(ctx, addr)
	if err != nil {
		return fmt.Errorf("dmarc: report_mailbox %s: %w", addr, err)
	}
	box := reportBox{st: e.store, a: store.Account{Username: mb.Username, Maildir: mb.Maildir}}
	_, err = dmarcreport.Scan(ctx, e.db, mb.Username, box, log, time.Now())
	return err
}

// reportBox is a mailbox's INBOX as dmarcreport.Scan reads it.
type reportBox struct {
	st *store.Store
	a  store.Account
}

func (b reportBox) UIDs(ctx context.Context) (int64, []int64, error) {
	if err := b.st.EnsureMailbox(ctx, b.a.Username, b.a.Maildir); err != nil {
		return 0, nil, err
	}
	msgs, fi, err := b.st.Messages(ctx, b.a, "INBOX")
	if err != nil {
		return 0, nil, err
	}
	uids := make([]int64, len(msgs))
	for i, m := range msgs {
		uids[i] = m.UID
	}
	return fi.UIDValidity, uids, nil
}

func (b reportBox) Open(ctx context.Context, uid int64) (io.ReadCloser, error) {
	msgs, err := b.st.MessagesWith(ctx, b.a, "INBOX", []int64{uid}, store.PartFile)
	if err != nil {
		return nil, err
	}
	if len(msgs) != 1 {
		return nil, fmt.Errorf("message %d is gone", uid)
	}
	return b.st.OpenMessage(b.a, "INBOX", msgs[0])
}
