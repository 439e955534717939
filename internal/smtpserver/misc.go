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

// hangUpPoll is how often a long check looks whether its client left.
const hangUpPoll = time.Second

// watchHangUp calls cancel when the client hangs up while a check runs
// (a tarpit, sleep N, a slow policy service): from hangUpPoll on, the
// socket is polled every hangUpPoll. A tarpitted client that gives up so
// frees its session at once, and the check learns it left (taRgrey's
// "hung up" without waiting out the tarpit). The returned stop ends the
// watch; checks that answer within hangUpPoll cost one timer.
func (c *conn) watchHangUp(cancel context.CancelFunc) (stop func()) {
	var mu sync.Mutex
	stopped := false
	mu.Lock()
	var t *time.Timer
	t = time.AfterFunc(hangUpPoll, func() {
		mu.Lock()
		defer mu.Unlock()
		if stopped {
			return
		}
		if hungUp(c.raw) {
			cancel()
			return
		}
		t.Reset(hangUpPoll)
	})
	mu.Unlock()
	return func() {
		mu.Lock()
		stopped = true
		mu.Unlock()
		t.Stop()
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
