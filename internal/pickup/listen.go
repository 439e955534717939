package pickup

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"sync"
	"time"
)

// PeerConn is a connection whose sender the kernel vouched for: the
// smtpserver Pickup mode reads the uid through PeerUID.
type PeerConn struct {
	net.Conn
	UID int
}

// PeerUID returns the uid of the local user on the other end.
func (p *PeerConn) PeerUID() int { return p.UID }

// Listener is the submission socket: Accept returns *PeerConn with the
// peer's uid from SO_PEERCRED. A connection whose credentials cannot be
// read is closed, never served.
type Listener struct {
	*net.UnixListener
	OnError func(error) // a refused connection; nil ignores it
}

// Listen creates the socket at path with SocketMode. A stale socket left
// by a crash is replaced; one another server still answers on is an
// error.
func Listen(path string) (*Listener, error) {
	if st, err := os.Lstat(path); err == nil {
		if st.Mode()&fs.ModeSocket == 0 {
			return nil, fmt.Errorf("pickup: %s exists and is no socket", path)
		}
		if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
			c.Close()
			return nil, fmt.Errorf("pickup: another server is listening on %s", path)
		}
		if err := os.Remove(path); err != nil {
			return nil, fmt.Errorf("pickup: remove stale socket: %w", err)
		}
	}
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("pickup: %w", err)
	}
	if err := os.Chmod(path, SocketMode); err != nil { // bind(2) applied the umask
		l.Close()
		return nil, fmt.Errorf("pickup: %w", err)
	}
	return &Listener{UnixListener: l}, nil
}

// Accept waits for the next connection and reads its peer's uid.
func (l *Listener) Accept() (net.Conn, error) {
	for {
		c, err := l.UnixListener.AcceptUnix()
		if err != nil {
			return nil, err
		}
		uid, err := peerUID(c)
		if err != nil {
			c.Close()
			if l.OnError != nil {
				l.OnError(fmt.Errorf("pickup: peer credentials: %w", err))
			}
			continue
		}
		return &PeerConn{Conn: c, UID: uid}, nil
	}
}

// PipeListener hands connections made in-process (Dial) to a server's
// Serve, for the picker: each maildrop file is one session over net.Pipe.
type PipeListener struct {
	ch   chan net.Conn
	done chan struct{}
	once sync.Once
}

// NewPipeListener returns an open PipeListener.
func NewPipeListener() *PipeListener {
	return &PipeListener{ch: make(chan net.Conn), done: make(chan struct{})}
}

// ErrClosed is returned by Dial after Close.
var ErrClosed = errors.New("pickup: listener closed")

// Dial returns the client end of a new in-process connection from uid;
// the server end is accepted as a *PeerConn.
func (l *PipeListener) Dial(uid int) (net.Conn, error) {
	server, client := net.Pipe()
	select {
	case l.ch <- &PeerConn{Conn: server, UID: uid}:
		return client, nil
	case <-l.done:
		server.Close()
		client.Close()
		return nil, ErrClosed
	}
}

// Accept implements net.Listener.
func (l *PipeListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.ch:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

// Close implements net.Listener.
func (l *PipeListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

// Addr implements net.Listener.
func (l *PipeListener) Addr() net.Addr { return pipeAddr{} }

type pipeAddr struct{}

func (pipeAddr) Network() string { return "pipe" }
func (pipeAddr) String() string  { return "maildrop" }
