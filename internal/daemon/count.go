package daemon

import (
	"net"
	"sync"
	"sync/atomic"
)

// Counted wraps l so that n is the number of its connections open now.
func Counted(l net.Listener, n *atomic.Int64) net.Listener { return &counted{Listener: l, n: n} }

type counted struct {
	net.Listener
	n *atomic.Int64
}

func (l *counted) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return c, err
	}
	l.n.Add(1)
	return &countedConn{Conn: c, n: l.n}, nil
}

type countedConn struct {
	net.Conn
	n    *atomic.Int64
	once sync.Once
}

func (c *countedConn) Close() error {
	c.once.Do(func() { c.n.Add(-1) })
	return c.Conn.Close()
}

// CloseWrite passes a half-close through (netserve sends a refusal, then
// half-closes).
func (c *countedConn) CloseWrite() error {
	if hc, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return hc.CloseWrite()
	}
	return nil
}
