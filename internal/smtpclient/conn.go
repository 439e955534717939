package smtpclient

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/textproto"
	"time"
)

// target is one address to connect to.
type target struct {
	host    string // MX or hop name, for TLS verification and logs
	network string // "tcp" or "unix"
	addr    string // ip:port or socket path
}

// relay formats t as Postfix's relay= does: "host[ip]:port", "host[path]".
func (t target) relay() string {
	if t.network == "unix" {
		return t.host + "[" + t.addr + "]"
	}
	ip, port, _ := net.SplitHostPort(t.addr)
	return t.host + "[" + ip + "]:" + port
}

// conn gives every write a deadline (go-smtp sets read deadlines but none
// while the body is written) and can replay a greeting: after STARTTLS a
// new go-smtp client is made over the TLS connection and it expects one.
type conn struct {
	net.Conn
	timeout time.Duration
	prefix  []byte
}

func (c *conn) Read(p []byte) (int, error) {
	if len(c.prefix) > 0 {
		n := copy(p, c.prefix)
		c.prefix = c.prefix[n:]
		return n, nil
	}
	return c.Conn.Read(p)
}

func (c *conn) Write(p []byte) (int, error) {
	if err := c.Conn.SetWriteDeadline(time.Now().Add(c.timeout)); err != nil {
		return 0, err
	}
	return c.Conn.Write(p)
}

// errNoSTARTTLS is the reply to STARTTLS when it is not 220.
var errNoSTARTTLS = errors.New("STARTTLS refused")

// starttls issues STARTTLS on raw (whose EHLO reply has been read in full,
// so nothing is buffered elsewhere) and completes the handshake. go-smtp's
// client only offers STARTTLS before its own EHLO with a fixed name, so
// this step is ours (RFC 3207).
func starttls(ctx context.Context, raw net.Conn, cfg *tls.Config, timeout time.Duration) (*tls.Conn, error) {
	if err := raw.SetDeadline(time.Now().Add(timeout)); err != nil {
		return nil, err
	}
	if _, err := raw.Write([]byte("STARTTLS\r\n")); err != nil {
		return nil, err
	}
	code, msg, err := textproto.NewReader(bufio.NewReaderSize(raw, 512)).ReadResponse(220)
	if err != nil {
		if code != 0 {
			return nil, fmt.Errorf("%w: %d %s", errNoSTARTTLS, code, msg)
		}
		return nil, err
	}
	tc := tls.Client(raw, cfg)
	hctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := tc.HandshakeContext(hctx); err != nil {
		return nil, err
	}
	if err := raw.SetDeadline(time.Time{}); err != nil {
		return nil, err
	}
	return tc, nil
}
