package smtpclient

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strings"
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

// conn is one SMTP or LMTP connection: commands and replies on buffered
// I/O over the socket (after STARTTLS, over TLS). Every read and write has
// a deadline. A conn is used by one goroutine at a time.
type conn struct {
	raw     net.Conn // the socket
	nc      net.Conn // raw or the TLS connection over it
	br      *bufio.Reader
	bw      *bufio.Writer
	timeout time.Duration // Options.CommandTimeout
	ext     extensions
	tls     string    // Result.TLS: "" or "TLS 1.3 verified"...
	born    time.Time // for connection_reuse_time_limit
	// broken is set after an I/O error, a timeout, a 421 or an aborted
	// DATA: the connection must not carry another command.
	broken bool
}

func newConn(raw net.Conn, timeout time.Duration) *conn {
	c := &conn{raw: raw, timeout: timeout, born: time.Now()}
	c.setNetConn(raw)
	return c
}

func (c *conn) setNetConn(nc net.Conn) {
	c.nc = nc
	c.br = bufio.NewReaderSize(nc, 4096)
	c.bw = bufio.NewWriterSize(deadlineWriter{c}, 4096)
}

// deadlineWriter gives every write to the socket a deadline.
type deadlineWriter struct{ c *conn }

func (w deadlineWriter) Write(p []byte) (int, error) {
	if err := w.c.nc.SetWriteDeadline(time.Now().Add(w.c.timeout)); err != nil {
		return 0, err
	}
	return w.c.nc.Write(p)
}

// queue buffers one command line; flush sends what is buffered.
func (c *conn) queue(cmd string) error {
	if strings.ContainsAny(cmd, "\r\n") {
		return fmt.Errorf("%w: CR or LF in command %q", errProtocol, truncate(cmd, 80))
	}
	_, err := c.bw.WriteString(cmd + "\r\n")
	return c.ioErr(err)
}

func (c *conn) flush() error { return c.ioErr(c.bw.Flush()) }

// read reads one reply within timeout. A 421 marks the connection broken
// (RFC 5321 3.8: the server is closing it).
func (c *conn) read(timeout time.Duration) (reply, error) {
	if err := c.nc.SetReadDeadline(time.Now().Add(timeout)); err != nil {
		return reply{}, c.ioErr(err)
	}
	r, err := readReply(c.br)
	if err != nil {
		return reply{}, c.ioErr(err)
	}
	if r.code == 421 {
		c.broken = true
	}
	return r, nil
}

// cmd sends one command and reads its reply.
func (c *conn) cmd(line string) (reply, error) {
	if err := c.queue(line); err != nil {
		return reply{}, err
	}
	if err := c.flush(); err != nil {
		return reply{}, err
	}
	return c.read(c.timeout)
}

func (c *conn) ioErr(err error) error {
	if err != nil {
		c.broken = true
	}
	return err
}

// watch closes the socket when ctx ends while the connection is in use;
// the returned stop reports false when that has happened.
func (c *conn) watch(ctx context.Context) (stop func() bool) {
	return context.AfterFunc(ctx, func() { c.raw.Close() })
}

// errNoSTARTTLS is the reply to STARTTLS when it is not 220.
var errNoSTARTTLS = errors.New("STARTTLS refused")

// starttls issues STARTTLS and completes the handshake (RFC 3207).
func (c *conn) starttls(ctx context.Context, cfg *tls.Config) error {
	r, err := c.cmd("STARTTLS")
	if err != nil {
		return err
	}
	if r.code != 220 {
		return fmt.Errorf("%w: %s", errNoSTARTTLS, r)
	}
	if c.br.Buffered() > 0 {
		// Plaintext sent after the 220 would be taken as if it came over
		// TLS (CVE-2011-0411 style injection).
		c.broken = true
		return fmt.Errorf("%w: data after the STARTTLS reply", errProtocol)
	}
	tc := tls.Client(c.raw, cfg)
	hctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	if err := tc.HandshakeContext(hctx); err != nil {
		c.broken = true
		return err
	}
	c.setNetConn(tc)
	return nil
}

// quit ends the connection: QUIT (waiting a little for the reply) when it
// is in a state to take a command, then close.
func (c *conn) quit() {
	if !c.broken {
		wait := min(c.timeout, 5*time.Second)
		c.timeout = wait
		if err := c.queue("QUIT"); err == nil && c.flush() == nil {
			_, _ = c.read(wait)
		}
	}
	c.raw.Close()
}
