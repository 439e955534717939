package smtpserver

import (
	"context"
	"crypto/tls"
	"net"
	"strconv"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"mailwarden/internal/config"
)

// pending reports whether the client has sent data the server has not
// read yet, without blocking or consuming it (SIOCINQ, which is TIOCINQ).
func pending(nc net.Conn) bool {
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return false
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	n := 0
	rc.Control(func(fd uintptr) {
		n, _ = unix.IoctlGetInt(int(fd), unix.TIOCINQ)
	})
	return n > 0
}

// hungUp reports whether the client has closed its side of the
// connection (or the connection failed), without reading from it: data
// it pipelined ahead stays unread (poll with POLLRDHUP, no timeout).
func hungUp(nc net.Conn) bool {
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return false
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	gone := false
	rc.Control(func(fd uintptr) {
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLRDHUP}}
		if n, err := unix.Poll(fds, 0); err == nil && n > 0 {
			gone = fds[0].Revents&(unix.POLLRDHUP|unix.POLLHUP|unix.POLLERR) != 0
		}
	})
	return gone
}

// checkWatch is what a connection keeps to run checks under a context
// that ends when the client hangs up or the check takes longer than a
// client waits for a reply: one context and one timer per connection,
// reused by every stage, so a check costs no allocation.
type checkWatch struct {
	mu      sync.Mutex
	ctx     context.Context
	cancel  context.CancelFunc
	timer   *time.Timer
	done    func()
	running bool
	start   time.Time
	limit   time.Duration
}

// hangUpPoll is how often a running check looks whether its client left.
const hangUpPoll = time.Second

// checkContext is the context a stage's checks run under; call done when
// they have answered. The checks get as long as a client waits for a
// reply (a tarpit, sleep N, DNS lists): smtpd_timeout, not a lookup's
// limit. From hangUpPoll on, the socket is polled every hangUpPoll for
// the client's close, and the context is cancelled when it hung up: a
// tarpitted client that gives up frees its session at once, and the
// check learns it left (taRgrey's "hung up" without waiting out the
// tarpit).
func (c *conn) checkContext() (ctx context.Context, done func()) {
	w := &c.watch
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.ctx == nil || w.ctx.Err() != nil {
		w.ctx, w.cancel = context.WithCancel(c.srv.ctx)
	}
	w.running, w.start, w.limit = true, time.Now(), max(lookupTimeout, c.cfg.SMTP.Timeout.D())
	if w.timer == nil {
		w.timer = time.AfterFunc(hangUpPoll, c.pollCheck)
		w.done = c.checkDone
	} else {
		w.timer.Reset(hangUpPoll)
	}
	return w.ctx, w.done
}

func (c *conn) checkDone() {
	w := &c.watch
	w.mu.Lock()
	w.running = false
	w.mu.Unlock()
	w.timer.Stop()
}

// pollCheck runs on the timer while a check runs.
func (c *conn) pollCheck() {
	w := &c.watch
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.running {
		return
	}
	left := w.limit - time.Since(w.start)
	if left <= 0 || hungUp(c.raw) {
		w.cancel()
		return
	}
	w.timer.Reset(min(hangUpPoll, left))
}

// endChecks releases the check context when the session ends.
func (c *conn) endChecks() {
	w := &c.watch
	w.mu.Lock()
	defer w.mu.Unlock()
	w.running = false
	if w.timer != nil {
		w.timer.Stop()
	}
	if w.cancel != nil {
		w.cancel()
	}
}

// tlsVersion names a TLS version the way Postfix logs it.
func tlsVersion(v uint16) string {
	switch v {
	case tls.VersionTLS13:
		return "TLSv1.3"
	case tls.VersionTLS12:
		return "TLSv1.2"
	case tls.VersionTLS11:
		return "TLSv1.1"
	case tls.VersionTLS10:
		return "TLSv1"
	}
	return "TLS 0x" + strconv.FormatUint(uint64(v), 16)
}

func cipherName(id uint16) string { return tls.CipherSuiteName(id) }

// tlsInfo describes a TLS session the way Postfix logs it.
func tlsInfo(st tls.ConnectionState) string {
	return tlsVersion(st.Version) + " with cipher " + cipherName(st.CipherSuite)
}

// diskCheck answers "is there room for another message?" (Postfix
// queue_minfree), reading the file system's free space at most once a
// second.
type diskCheck struct {
	mu    sync.Mutex
	at    time.Time
	dir   string
	free  uint64
	valid bool
}

// ok reports whether dir's file system has at least smtp.queue_minfree
// bytes free (1.5 × message_size_limit when that key is 0). A file
// system that cannot be asked is assumed to have room.
func (d *diskCheck) ok(dir string, cfg *config.Config) bool {
	need := uint64(cfg.SMTP.QueueMinfree)
	if need == 0 {
		need = uint64(cfg.SMTP.MessageSizeLimit) * 3 / 2
	}
	if dir == "" || need == 0 {
		return true
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if now := time.Now(); d.dir != dir || now.Sub(d.at) > time.Second {
		var st unix.Statfs_t
		d.dir, d.at, d.valid = dir, now, unix.Statfs(dir, &st) == nil
		if d.valid {
			d.free = st.Bavail * uint64(st.Bsize)
		}
	}
	return !d.valid || d.free >= need
}
