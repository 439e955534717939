package smtpclient

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// received is one message a sink accepted.
type received struct {
	From     string
	Mail     smtp.MailOptions
	Rcpts    []string
	RcptOpts []smtp.RcptOptions
	Body     string
	TLS      bool
	User     string
}

// sink is a remote MX host (or LMTP server) for tests.
type sink struct {
	mu       sync.Mutex
	msgs     []received
	mailErr  *smtp.SMTPError
	rcptErr  map[string]*smtp.SMTPError // at RCPT
	dataErr  *smtp.SMTPError            // after the final dot
	lmtpErr  map[string]*smtp.SMTPError // LMTP per-recipient after DATA
	password string                     // AUTH PLAIN accepts any user with it
	conns    atomic.Int32               // connections opened
	seen     map[*smtp.Conn]bool
}

func srvReply(code int, text string) *smtp.SMTPError {
	return &smtp.SMTPError{Code: code, EnhancedCode: smtp.EnhancedCode{code / 100, 0, 0}, Message: text}
}

func (s *sink) messages() []received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]received(nil), s.msgs...)
}

func (s *sink) NewSession(c *smtp.Conn) (smtp.Session, error) {
	s.mu.Lock()
	if s.seen == nil {
		s.seen = map[*smtp.Conn]bool{}
	}
	if !s.seen[c] { // a session starts at each EHLO
		s.seen[c] = true
		s.conns.Add(1)
	}
	s.mu.Unlock()
	_, isTLS := c.TLSConnectionState()
	return &sinkSession{s: s, cur: received{TLS: isTLS}}, nil
}

type sinkSession struct {
	s    *sink
	cur  received
	user string
}

func (ss *sinkSession) Reset()        { ss.cur = received{TLS: ss.cur.TLS} }
func (ss *sinkSession) Logout() error { return nil }

func (ss *sinkSession) AuthMechanisms() []string { return []string{sasl.Plain} }

func (ss *sinkSession) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if ss.s.password == "" || pass != ss.s.password {
			return errors.New("bad password")
		}
		ss.user = user
		return nil
	}), nil
}

func (ss *sinkSession) Mail(from string, o *smtp.MailOptions) error {
	if ss.s.mailErr != nil {
		return ss.s.mailErr
	}
	ss.cur.From, ss.cur.Mail, ss.cur.User = from, *o, ss.user
	return nil
}

func (ss *sinkSession) Rcpt(to string, o *smtp.RcptOptions) error {
	if err := ss.s.rcptErr[to]; err != nil {
		return err
	}
	ss.cur.Rcpts = append(ss.cur.Rcpts, to)
	ss.cur.RcptOpts = append(ss.cur.RcptOpts, *o)
	return nil
}

func (ss *sinkSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if ss.s.dataErr != nil {
		return ss.s.dataErr
	}
	ss.cur.Body = string(b)
	ss.s.mu.Lock()
	ss.s.msgs = append(ss.s.msgs, ss.cur)
	ss.s.mu.Unlock()
	return nil
}

func (ss *sinkSession) LMTPData(r io.Reader, status smtp.StatusCollector) error {
	if err := ss.Data(r); err != nil {
		return err
	}
	for _, rc := range ss.cur.Rcpts {
		if e := ss.s.lmtpErr[rc]; e != nil {
			status.SetStatus(rc, e)
		} else {
			status.SetStatus(rc, nil)
		}
	}
	return nil
}

// sinkConfig changes a sink's server.
type sinkConfig struct {
	TLS      *tls.Config
	MaxBytes int64
	UTF8     bool
	LMTP     bool
}

// serve runs a sink on ln until the test ends.
func serve(t *testing.T, ln net.Listener, s *sink, cfg sinkConfig) {
	srv := smtp.NewServer(s)
	srv.Domain = "sink.test"
	srv.TLSConfig = cfg.TLS
	srv.MaxMessageBytes = cfg.MaxBytes
	srv.EnableSMTPUTF8 = cfg.UTF8
	srv.EnableDSN = true
	srv.LMTP = cfg.LMTP
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	srv.ErrorLog = sinkLog{t}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
}

type sinkLog struct{ t *testing.T }

func (l sinkLog) Printf(f string, a ...any) { l.t.Logf("sink: "+f, a...) }
func (l sinkLog) Println(a ...any)          { l.t.Log(append([]any{"sink:"}, a...)...) }

// listenAll listens on the same random port of every ip (loopback aliases
// 127.0.0.2, 127.0.0.3... answer on Linux without setup).
func listenAll(t *testing.T, ips ...string) (int, []net.Listener) {
	t.Helper()
	for range 50 {
		first, err := net.Listen("tcp", ips[0]+":0")
		if err != nil {
			t.Fatal(err)
		}
		port := first.Addr().(*net.TCPAddr).Port
		lns := []net.Listener{first}
		for _, ip := range ips[1:] {
			ln, err := net.Listen("tcp", fmt.Sprintf("%s:%d", ip, port))
			if err != nil {
				break
			}
			lns = append(lns, ln)
		}
		if len(lns) == len(ips) {
			return port, lns
		}
		for _, ln := range lns {
			ln.Close()
		}
	}
	t.Fatal("no port free on all of", ips)
	return 0, nil
}
