package policy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"mailwarden/internal/policyproto"
)

// PolicyClient talks to one policy service: connections are kept and
// reused (max_idle, max_ttl, request_limit), at most MaxConnections at
// once, and a request that fails is tried again try_limit times,
// retry_delay apart, each try within timeout — Postfix's
// smtpd_policy_service_* semantics. It is safe for concurrent use.
type PolicyClient struct {
	network, addr, name string
	set                 PolicyServiceSettings
	slots               chan struct{} // one per open connection

	mu    sync.Mutex
	idle  []*policyConn // most recently used last
	timer *time.Timer   // closes idle connections past max_idle
}

type policyConn struct {
	c          net.Conn
	r          *policyproto.Reader
	born, used time.Time
	n          int // requests sent
}

// replyLimits bound a policy server's reply: one action line.
var replyLimits = policyproto.Limits{MaxLine: 4096, MaxAttrs: 20, MaxSize: 16 << 10}

// NewPolicyClient returns a client for network ("tcp" or "unix") and
// addr; name ("inet:127.0.0.1:10023") is used in errors.
func NewPolicyClient(network, addr, name string, set PolicyServiceSettings) *PolicyClient {
	if set.MaxConnections < 1 {
		set.MaxConnections = 1
	}
	if set.TryLimit < 1 {
		set.TryLimit = 1
	}
	return &PolicyClient{network: network, addr: addr, name: name, set: set, slots: make(chan struct{}, set.MaxConnections)}
}

// clients are the policy clients of every check_policy_service built, by
// endpoint and settings, so lists rebuilt on reload share connections.
var (
	clientsMu sync.Mutex
	clients   = map[string]*PolicyClient{}
)

func sharedPolicyClient(network, addr, name string, set PolicyServiceSettings) *PolicyClient {
	key := fmt.Sprintf("%s %s %+v", network, addr, set)
	clientsMu.Lock()
	defer clientsMu.Unlock()
	if c, ok := clients[key]; ok {
		return c
	}
	c := NewPolicyClient(network, addr, name, set)
	clients[key] = c
	return c
}

// Query sends attrs and returns the reply's action. An error means every
// try failed; the caller takes the default action.
func (p *PolicyClient) Query(ctx context.Context, attrs policyproto.Attrs) (string, error) {
	req, err := policyproto.Append(make([]byte, 0, 1024), attrs)
	if err != nil {
		return "", err
	}
	var last error
	for try := 1; try <= p.set.TryLimit; try++ {
		if try > 1 {
			t := time.NewTimer(p.set.RetryDelay)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				return "", fmt.Errorf("%w (after %v)", ctx.Err(), last)
			}
		}
		action, err := p.try(ctx, req)
		if err == nil {
			return action, nil
		}
		last = err
		if ctx.Err() != nil {
			break
		}
	}
	return "", last
}

// try sends one request within the timeout. A kept connection the server
// has closed meanwhile is replaced at once, without using up a try.
func (p *PolicyClient) try(ctx context.Context, req []byte) (string, error) {
	deadline := time.Now().Add(p.set.Timeout)
	tctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	select {
	case p.slots <- struct{}{}:
	case <-tctx.Done():
		return "", fmt.Errorf("no free connection to %s within %v (policy_service_max_connections %d)", p.name, p.set.Timeout, p.set.MaxConnections)
	}
	defer func() { <-p.slots }()
	pc := p.get()
	for {
		if pc == nil {
			c, err := (&net.Dialer{}).DialContext(tctx, p.network, p.addr)
			if err != nil {
				return "", fmt.Errorf("connect: %w", err)
			}
			pc = &policyConn{c: c, r: policyproto.NewReader(c, replyLimits), born: time.Now()}
		}
		reused := pc.n > 0
		action, err := pc.exchange(req, deadline)
		if err == nil {
			p.put(pc)
			return action, nil
		}
		pc.c.Close()
		if !reused || errors.Is(err, errTimeout) || time.Now().After(deadline) {
			return "", err
		}
		pc = nil // the server closed it while it was kept: one more, fresh
	}
}

var errTimeout = errors.New("timeout")

func (pc *policyConn) exchange(req []byte, deadline time.Time) (string, error) {
	pc.c.SetDeadline(deadline)
	pc.n++
	if _, err := pc.c.Write(req); err != nil {
		return "", fmt.Errorf("write: %w", err)
	}
	attrs, err := pc.r.Read()
	if err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return "", fmt.Errorf("read: %w", errTimeout)
		}
		if errors.Is(err, io.EOF) && pc.n == 1 {
			return "", errors.New("connection closed by server")
		}
		return "", fmt.Errorf("read: %w", err)
	}
	action, ok := attrs.Get("action")
	if !ok || action == "" {
		return "", errors.New("reply without action")
	}
	pc.used = time.Now()
	return action, nil
}

// get takes the most recently used kept connection, dropping those past
// max_idle or max_ttl.
func (p *PolicyClient) get() *policyConn {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	for len(p.idle) > 0 {
		pc := p.idle[len(p.idle)-1]
		p.idle = p.idle[:len(p.idle)-1]
		if now.Sub(pc.used) < p.set.MaxIdle && now.Sub(pc.born) < p.set.MaxTTL {
			return pc
		}
		pc.c.Close()
	}
	return nil
}

// put keeps pc for the next request unless it has reached max_ttl or
// request_limit.
func (p *PolicyClient) put(pc *policyConn) {
	// More than one reply to one request (Buffered) puts the connection
	// out of step: it is not kept.
	if p.set.RequestLimit > 0 && pc.n >= p.set.RequestLimit || time.Since(pc.born) >= p.set.MaxTTL || pc.r.Buffered() > 0 {
		pc.c.Close()
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.idle = append(p.idle, pc)
	if p.timer == nil {
		p.timer = time.AfterFunc(p.set.MaxIdle, p.reap)
	}
}

// reap closes connections idle past max_idle and waits for the next.
func (p *PolicyClient) reap() {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	keep := p.idle[:0]
	next := time.Duration(-1)
	for _, pc := range p.idle {
		left := p.set.MaxIdle - now.Sub(pc.used)
		if left <= 0 {
			pc.c.Close()
			continue
		}
		keep = append(keep, pc)
		if next < 0 || left < next {
			next = left
		}
	}
	clear(p.idle[len(keep):])
	p.idle = keep
	p.timer = nil
	if next >= 0 {
		p.timer = time.AfterFunc(next, p.reap)
	}
}

// Idle returns how many connections are kept open.
func (p *PolicyClient) Idle() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.idle)
}

// Close closes the kept connections.
func (p *PolicyClient) Close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, pc := range p.idle {
		pc.c.Close()
	}
	p.idle = nil
	if p.timer != nil {
		p.timer.Stop()
		p.timer = nil
	}
}
