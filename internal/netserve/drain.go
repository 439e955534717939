package netserve

import (
	"net"
	"sync"
	"time"
)

// Drain is a session's part in a shutdown: once started, the wait for the
// next command ends at once, while a command in progress may finish. The
// zero value is ready to use; its methods may be called from any
// goroutine.
type Drain struct {
	mu       sync.Mutex
	draining bool
}

// SetReadDeadline gives the next read on c the timeout d, or none at all
// once the drain has started.
func (dr *Drain) SetReadDeadline(c net.Conn, d time.Duration) {
	dr.mu.Lock()
	defer dr.mu.Unlock()
	dl := time.Now().Add(d)
	if dr.draining {
		dl = time.Now()
	}
	c.SetReadDeadline(dl)
}

// Start starts the drain and cuts short a read on c under way.
func (dr *Drain) Start(c net.Conn) {
	dr.mu.Lock()
	dr.draining = true
	c.SetReadDeadline(time.Now())
	dr.mu.Unlock()
}

// Draining reports whether the drain has started: a read that timed out
// then was cut short by it.
func (dr *Drain) Draining() bool {
	dr.mu.Lock()
	defer dr.mu.Unlock()
	return dr.draining
}
