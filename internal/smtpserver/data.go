package smtpserver

import (
	"context"
	"errors"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-smtp"

	"mailwarden/internal/delivery"
	"mailwarden/internal/envelope"
)

const (
	spoolMemory = 256 << 10 // body bytes kept in memory before a temp file
	maxHops     = 100       // RFC 5321 6.3: Received fields before a loop is assumed
	copyBuffer  = 32 << 10
)

var bufPool = sync.Pool{New: func() any { b := make([]byte, copyBuffer); return &b }}

var (
	errTooBig      = &smtp.SMTPError{Code: 552, EnhancedCode: smtp.EnhancedCode{5, 3, 4}, Message: "Message size exceeds fixed limit"}
	errLineTooLong = &smtp.SMTPError{Code: 500, EnhancedCode: smtp.EnhancedCode{5, 5, 2}, Message: "Error: message line too long"}
	errTooManyHops = &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 4, 6}, Message: "Too many hops"}
	errWriteFailed = &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "Error: queue file write error"}
	errTimeout     = &smtp.SMTPError{Code: 421, EnhancedCode: smtp.EnhancedCode{4, 4, 2}, Message: "Error: timeout exceeded"}
	errLost        = &smtp.SMTPError{Code: 421, EnhancedCode: smtp.EnhancedCode{4, 4, 0}, Message: "Error: connection lost"}
)

// Data receives the body (DATA, or the chunks of BDAT through a pipe),
// builds the trace and hands the message to the Deliverer. It never returns
// nil: success is a 250 SMTPError carrying the queue id, so go-smtp cannot
// say 250 for anything Deliver did not accept.
func (s *session) Data(r io.Reader) error {
	c := s.c
	k := cmdData
	if _, ok := r.(*io.PipeReader); ok {
		k = cmdBdat
	}
	c.srv.inflight.Add(1)
	defer c.srv.inflight.Add(-1)
	s.mu.Lock()
	t := s.t
	s.afterData = true
	s.mu.Unlock()
	if t.id == "" {
		t.id = envelope.NewID()
	}
	c.setStage(strings.ToUpper(cmdNames[k]))
	sp := envelope.NewSpool(c.srv.o.SpoolDir, spoolMemory, int64(c.cfg.SMTP.MessageSizeLimit))
	defer sp.Close()
	hdr, rerr, werr := spoolBody(sp, r)
	if hdr.n > maxHops {
		return s.reject(k, &t, "", errTooManyHops)
	}
	if e := s.bodyError(&t, rerr, werr); e != nil {
		if e == errLineTooLong {
			c.noQuit() // go-smtp closes the connection after this reply
		}
		if e == errTooBig || e == errLineTooLong || e == errWriteFailed {
			return s.reject(k, &t, "", e)
		}
		c.count(k, false)
		return e
	}
	c.setStage("END-OF-MESSAGE")
	if len(t.routed) == 0 { // BDAT raced with RSET: nothing to deliver to
		c.count(k, false)
		return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 5, 1}, Message: "Error: no valid recipients"}
	}

	user, _ := s.authUser()
	env := &envelope.Envelope{
		ID: t.id, From: t.from, Recipients: t.rcpts, Received: time.Now(),
		ClientIP: c.ip, ClientHost: c.host, Helo: t.helo, AuthUser: user, TLS: s.tls, Protocol: t.proto,
		EnvID: t.envID, Ret: t.ret, Body8: t.body8, SMTPUTF8: t.utf8, Size: sp.Size(),
	}
	trace := s.received(env)
	if c.srv.mode.submit() || c.srv.mode == Pickup {
		trace = s.addMissing(trace, env, &hdr)
	}
	msg := &delivery.Message{Env: env, Trace: trace, Body: sp, Rcpts: t.routed}
	c.srv.log.Info(t.id + ": from=<" + t.from + ">, size=" + strconv.FormatInt(int64(len(msg.Trace))+sp.Size(), 10) +
		", nrcpt=" + strconv.Itoa(len(t.rcpts)) + " (queue active)")
	ctx, cancel := context.WithTimeout(c.srv.ctx, c.cfg.SMTP.Timeout.D())
	err := c.srv.o.Deliverer.Deliver(ctx, msg)
	cancel()
	switch {
	case errors.Is(err, delivery.ErrOverQuota):
		if c.cfg.Delivery.OverQuotaTempfail {
			return s.reject(k, &t, "", &smtp.SMTPError{Code: 452, EnhancedCode: smtp.EnhancedCode{4, 2, 2}, Message: "Mailbox full"})
		}
		return s.reject(k, &t, "", &smtp.SMTPError{Code: 552, EnhancedCode: smtp.EnhancedCode{5, 2, 2}, Message: "Mailbox full"})
	case err != nil:
		c.srv.log.Error(t.id + ": deliver: " + err.Error())
		return s.reject(k, &t, "", errWriteFailed)
	}
	c.delivered(k)
	return &smtp.SMTPError{Code: 250, EnhancedCode: smtp.EnhancedCode{2, 0, 0}, Message: "Ok: queued as " + t.id}
}

// bodyError maps a failure to read or spool the body to its reply; nil
// when there was none.
func (s *session) bodyError(t *tx, rerr, werr error) *smtp.SMTPError {
	var ne net.Error
	switch {
	case werr == nil && rerr == nil:
		return nil
	case errors.Is(werr, envelope.ErrTooLarge), errors.Is(rerr, smtp.ErrDataTooLarge):
		return errTooBig
	case werr != nil:
		s.c.srv.log.Error(t.id + ": spool: " + werr.Error())
		return errWriteFailed
	case errors.Is(rerr, smtp.ErrTooLongLine):
		return errLineTooLong
	case errors.As(rerr, &ne) && ne.Timeout():
		return errTimeout
	}
	return errLost // the client went away, or RSET aborted BDAT
}

// spoolBody copies the body into sp and scans its header (Received fields,
// Date, Message-ID), stopping early past maxHops.
func spoolBody(sp *envelope.Spool, r io.Reader) (h headerScan, rerr, werr error) {
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	buf := *bp
	for {
		n, err := r.Read(buf)
		if n > 0 {
			if !h.done {
				if h.feed(buf[:n]); h.n > maxHops {
					return h, nil, nil
				}
			}
			if _, werr := sp.Write(buf[:n]); werr != nil {
				return h, nil, werr
			}
		}
		if err == io.EOF {
			return h, nil, nil
		}
		if err != nil {
			return h, err, nil
		}
	}
}
