package policyd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"mailwarden/internal/envelope"
	"mailwarden/internal/policy"
	"mailwarden/internal/policyproto"
)

// Options configure a Server; zero fields take the defaults.
type Options struct {
	// List returns the checks to run; it is called for every request, so
	// a reload may swap it.
	List func() policy.List
	// MyNetworks reports whether a client address is in mynetworks
	// (permit_mynetworks); nil: none is.
	MyNetworks func(netip.Addr) bool
	Log        *slog.Logger
	// MaxConnections bounds the connections served at once (default
	// 200; Postfix keeps one per smtpd process, default_process_limit
	// 100); a client past it is closed at once.
	MaxConnections int
	// IdleTimeout closes a connection that sends no request for this long
	// (default 10 minutes: longer than Postfix's max_idle of 300 s, so
	// Postfix is the one that closes).
	IdleTimeout time.Duration
	// RequestTimeout bounds one decision (default 5 minutes, room for a
	// tarpit); past it the answer is FailAction.
	RequestTimeout time.Duration
	// Limits bound one request (policyproto defaults).
	Limits policyproto.Limits
	// SleepElsewhere, when set, is called for each request: a check that
	// would wait (the tarpit) notes the wait under the returned context
	// instead, and the answer is "sleep N" — Postfix's smtpd waits, as
	// with taRgrey, so the policy connection is not held past Postfix's
	// smtpd_policy_service_timeout (greylist.SleepElsewhere).
	SleepElsewhere func(ctx context.Context) (context.Context, func() time.Duration)
	// SPF, when set, gives each request its Request.SPF (check_spf and
	// the greylist's SPF bypass then work here too).
	SPF func(r *policy.Request) policy.SPFFunc
	// FailAction answers a request whose checks failed or took too long
	// (default "451 4.3.5 Server configuration problem", the words
	// Postfix uses when its own policy client fails).
	FailAction string
}

// Server serves the policy protocol on listeners until Shutdown.
type Server struct {
	o     Options
	slots chan struct{}
	txs   *transactions

	mu        sync.Mutex
	listeners map[net.Listener]struct{}
	conns     map[net.Conn]struct{}
	closed    bool
	wg        sync.WaitGroup
	ctx       context.Context
	cancel    context.CancelFunc
}

// ErrServerClosed is returned by Serve after Shutdown.
var ErrServerClosed = errors.New("policyd: server closed")

// New returns a server with o.
func New(o Options) *Server {
	if o.MaxConnections <= 0 {
		o.MaxConnections = 200
	}
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = 10 * time.Minute
	}
	if o.RequestTimeout <= 0 {
		o.RequestTimeout = 5 * time.Minute
	}
	if o.FailAction == "" {
		o.FailAction = "451 4.3.5 Server configuration problem"
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.List == nil {
		o.List = func() policy.List { return nil }
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Server{o: o, slots: make(chan struct{}, o.MaxConnections), txs: newTransactions(),
		listeners: map[net.Listener]struct{}{}, conns: map[net.Conn]struct{}{}, ctx: ctx, cancel: cancel}
}

// Serve accepts connections on l until Shutdown.
func (s *Server) Serve(l net.Listener) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		l.Close()
		return ErrServerClosed
	}
	s.listeners[l] = struct{}{}
	s.mu.Unlock()
	backoff := time.Duration(0)
	for {
		c, err := l.Accept()
		if err != nil {
			s.mu.Lock()
			closed := s.closed
			s.mu.Unlock()
			if closed {
				return ErrServerClosed
			}
			if !errors.Is(err, net.ErrClosed) {
				// EMFILE and the like: wait a little, as net/http does.
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				s.o.Log.Warn("policyd: accept: " + err.Error())
				time.Sleep(backoff)
				continue
			}
			return err
		}
		backoff = 0
		select {
		case s.slots <- struct{}{}:
		default:
			s.o.Log.Warn("policyd: too many connections (" + strconv.Itoa(s.o.MaxConnections) + "), closing one from " + c.RemoteAddr().String())
			c.Close()
			continue
		}
		if !s.track(c) {
			<-s.slots
			c.Close()
			continue
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer s.untrack(c)
			defer func() { <-s.slots }() // free before the client sees the close
			s.serveConn(c)
		}()
	}
}

func (s *Server) track(c net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.conns[c] = struct{}{}
	return true
}

func (s *Server) untrack(c net.Conn) {
	c.Close()
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
}

// Shutdown stops accepting, lets requests under way finish until ctx
// ends, then closes every connection.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closed = true
	for l := range s.listeners {
		l.Close()
	}
	// Idle connections wait in Read: cut them short now; a request under
	// way gets its reply (the connection is closed after it).
	for c := range s.conns {
		c.SetReadDeadline(time.Now())
	}
	s.mu.Unlock()
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		s.cancel()
		s.mu.Lock()
		for c := range s.conns {
			c.Close()
		}
		s.mu.Unlock()
		<-done
		return ctx.Err()
	}
}

func (s *Server) closing() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// serveConn answers requests on c, one at a time, until the client
// closes, sends something that is not the protocol, or goes idle.
func (s *Server) serveConn(c net.Conn) {
	r := policyproto.NewReader(c, s.o.Limits)
	for !s.closing() {
		c.SetReadDeadline(time.Now().Add(s.o.IdleTimeout))
		attrs, err := r.Read()
		if err != nil {
			if !errors.Is(err, io.EOF) && !isTimeout(err) && !errors.Is(err, net.ErrClosed) {
				s.o.Log.Warn("policyd: " + c.RemoteAddr().String() + ": " + err.Error())
			}
			return
		}
		action := s.Answer(attrs)
		c.SetWriteDeadline(time.Now().Add(time.Minute))
		if err := policyproto.Write(c, policyproto.Reply(action)); err != nil {
			return
		}
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// Answer decides one request and returns the action to send. A request
// that is not an SMTPD access policy query is answered DUNNO, as
// postgrey does.
func (s *Server) Answer(attrs policyproto.Attrs) string {
	req, ok := s.request(attrs)
	if !ok {
		return "DUNNO"
	}
	ctx, cancel := context.WithTimeout(s.ctx, s.o.RequestTimeout)
	defer cancel()
	type result struct {
		action string
		v      policy.Verdict
	}
	done := make(chan result, 1)
	go func() {
		defer func() {
			if p := recover(); p != nil {
				s.o.Log.Error(fmt.Sprintf("policyd: check panicked: %v", p))
				done <- result{action: s.o.FailAction}
			}
		}()
		ctx := ctx
		slept := func() time.Duration { return 0 }
		if s.o.SleepElsewhere != nil {
			ctx, slept = s.o.SleepElsewhere(ctx)
		}
		v := s.eval(ctx, req)
		action := s.action(req, v)
		if d := slept(); d > 0 && !final(v.Action) {
			// The wait goes before whatever else the list said; a
			// refusal needs no wait.
			action = "sleep " + strconv.FormatInt(int64((d+time.Second-1)/time.Second), 10)
		}
		done <- result{action: action, v: v}
	}()
	var res result
	select {
	case res = <-done:
	case <-time.After(s.o.RequestTimeout + time.Second):
		// A check that ignores its context must not hold Postfix's
		// session: answer now; its goroutine ends when it returns.
		s.o.Log.Error("policyd: no decision within " + s.o.RequestTimeout.String() + "; answering " + s.o.FailAction)
		return s.o.FailAction
	}
	s.remember(req, res.v)
	if res.action != "DUNNO" {
		s.o.Log.Info(fmt.Sprintf("policyd: %s: client=%s[%s], from=<%s>, to=<%s>, state=%s, action=%s",
			orNone(req.Env.ID), req.Env.ClientHost, req.Env.ClientIP, req.Sender, req.Recipient, attrs.Value("protocol_state"), res.action))
	}
	return res.action
}

func orNone(id string) string {
	if id == "" {
		return "NOQUEUE"
	}
	return id
}

// eval runs the list with Postfix's semantics inside one answer: the
// first reject, defer or discard decides; permit ends the list (and is
// answered DUNNO: a policy server must not open a relay by saying OK
// before the client's own reject_unauth_destination); DEFER_IF_PERMIT
// is answered as such, so that a later reject in the client's list still
// wins; of the side effects (PREPEND, HOLD, WARN...), the first is
// answered, a policy reply holding one action.
func (s *Server) eval(ctx context.Context, r *policy.Request) policy.Verdict {
	var effect, deferIfPermit *policy.Verdict
	for _, c := range s.o.List() {
		v := c.Check(ctx, r)
		if v.Check == "" {
			v.Check = c.Name()
		}
		switch v.Action {
		case policy.Dunno, policy.WarnIfReject, policy.DeferIfReject:
			continue
		case policy.DeferIfPermit:
			if deferIfPermit == nil {
				deferIfPermit = &v
			}
			continue
		case policy.Reject, policy.Defer, policy.Discard:
			return v
		case policy.Permit:
		default:
			if effect == nil {
				effect = &v
			}
			continue
		}
		break
	}
	switch {
	case deferIfPermit != nil:
		return *deferIfPermit
	case effect != nil:
		return *effect
	}
	return policy.Verdict{}
}

func final(a policy.Action) bool {
	return a == policy.Reject || a == policy.Defer || a == policy.Discard || a == policy.DeferIfPermit
}

// action words a verdict as an access(5) action for the reply.
func (s *Server) action(r *policy.Request, v policy.Verdict) string {
	text := policy.StripSubject(r, v.Text)
	withCode := func(word string, code int, enh string) string {
		a := word
		if code != 0 {
			a = strconv.Itoa(code)
		}
		if enh != "" {
			a += " " + enh
		}
		if text != "" {
			a += " " + text
		}
		return a
	}
	switch v.Action {
	case policy.Reject:
		return withCode("REJECT", v.Code, v.Enhanced)
	case policy.Defer:
		return withCode("DEFER", v.Code, v.Enhanced)
	case policy.DeferIfPermit:
		return withCode("DEFER_IF_PERMIT", 0, v.Enhanced)
	case policy.Discard:
		return strings.TrimSpace("DISCARD " + v.Arg)
	case policy.Hold:
		return strings.TrimSpace("HOLD " + v.Arg)
	case policy.Prepend:
		return "PREPEND " + v.Arg
	case policy.Redirect:
		return "REDIRECT " + v.Arg
	case policy.BCC:
		return "BCC " + v.Arg
	case policy.Filter:
		return "FILTER " + v.Arg
	case policy.Warn:
		return strings.TrimSpace("WARN " + v.Arg)
	}
	return "DUNNO"
}

// states are Postfix's protocol_state values by stage.
var states = map[string]policy.Stage{
	"CONNECT": policy.Connect, "EHLO": policy.Helo, "HELO": policy.Helo, "MAIL": policy.Mail,
	"RCPT": policy.Rcpt, "VRFY": policy.Rcpt, "DATA": policy.Data, "BDAT": policy.Data, "END-OF-MESSAGE": policy.EndOfData,
}

// request builds the policy.Request a query describes.
func (s *Server) request(a policyproto.Attrs) (*policy.Request, bool) {
	if a.Value("request") != policyproto.RequestType {
		return nil, false
	}
	st, ok := states[strings.ToUpper(a.Value("protocol_state"))]
	if !ok {
		return nil, false // ETRN and states to come: no opinion
	}
	ip, err := netip.ParseAddr(a.Value("client_address"))
	if err != nil {
		return nil, false
	}
	ip = ip.Unmap()
	env := &envelope.Envelope{
		ID: a.Value("queue_id"), From: a.Value("sender"), ClientIP: ip, ClientHost: orUnknown(a.Value("client_name")),
		Helo: a.Value("helo_name"), AuthUser: a.Value("sasl_username"), AuthParam: a.Value("sasl_sender"),
		Protocol: a.Value("protocol_name"),
	}
	if p := a.Value("encryption_protocol"); p != "" {
		env.TLS = p + " with cipher " + a.Value("encryption_cipher")
	}
	port, _ := strconv.Atoi(a.Value("client_port"))
	rev := a.Value("reverse_client_name")
	if rev == "unknown" {
		rev = ""
	}
	env.Client = envelope.Client{IP: ip, Port: port, Host: env.ClientHost, HostConfirmed: env.ClientHost != "unknown",
		ReverseHost: rev, Helo: env.Helo, TLSVersion: a.Value("encryption_protocol"), TLSCipher: a.Value("encryption_cipher"),
		AuthUser: env.AuthUser, AuthMech: a.Value("sasl_method"), Service: "smtp"}
	r := &policy.Request{Stage: st, Env: env, Service: "smtp", TLS: true, Sender: env.From,
		Recipient: a.Value("recipient"), Instance: a.Value("instance")}
	if s.o.MyNetworks != nil {
		r.MyNetworks = s.o.MyNetworks(ip)
	}
	if n, err := strconv.ParseInt(a.Value("size"), 10, 64); err == nil && n > 0 {
		r.Size, env.Size = n, n
	}
	if sp, err := strconv.Atoi(a.Value("server_port")); err == nil {
		if sa, err := netip.ParseAddr(a.Value("server_address")); err == nil && sp > 0 && sp < 65536 {
			r.Server = netip.AddrPortFrom(sa.Unmap(), uint16(sp))
		}
	}
	// The recipients of the transaction so far: Postfix sends only their
	// count, so they are remembered from the RCPT requests of the same
	// instance.
	env.Recipients = s.txs.recipients(r.Instance)
	if s.o.SPF != nil {
		r.SPF = s.o.SPF(r)
	}
	if st == policy.Data || st == policy.EndOfData {
		if r.Recipient != "" && len(env.Recipients) == 0 {
			env.Recipients = []envelope.Recipient{{Address: r.Recipient}}
		}
		r.Recipient = ""
	}
	return r, true
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

// remember notes a recipient the checks did not refuse, for the later
// stages of its transaction.
func (s *Server) remember(r *policy.Request, v policy.Verdict) {
	if r.Stage != policy.Rcpt || r.Recipient == "" || r.Instance == "" {
		return
	}
	switch v.Action {
	case policy.Reject, policy.Defer, policy.DeferIfPermit:
		return
	}
	s.txs.add(r.Instance, r.Recipient)
}
