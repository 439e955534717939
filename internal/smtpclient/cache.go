package smtpclient

import (
	"sync"
	"time"
)

// CacheOptions configure a Cache (Postfix smtp_connection_cache_*).
type CacheOptions struct {
	// IdleTime is how long an idle connection is kept for the next
	// message (smtp_connection_cache_time_limit); 0 keeps none.
	IdleTime time.Duration
	// MaxAge is how long after it was opened a connection may still be
	// reused (smtp_connection_reuse_time_limit); 0 means 300s.
	MaxAge time.Duration
	// MaxPerDestination bounds the idle connections of one destination
	// (0: 20), MaxIdle all of them (0: 100).
	MaxPerDestination, MaxIdle int
}

// Cache keeps connections open between deliveries, like Postfix's
// scache: after a transaction that left a connection in a good state,
// DeliverTo parks it here instead of sending QUIT, and the next delivery
// to the same destination (found by the next-hop request, before any DNS
// lookup) or to the same address takes it and sends RSET first. A
// connection is used by one delivery at a time. Idle connections are
// QUIT after IdleTime; a connection that saw a 421, an I/O error or a
// timeout is never kept. Share one Cache between deliveries made with the
// same Options (only the Hop may differ); Close it when done.
type Cache struct {
	mu     sync.Mutex
	o      CacheOptions
	dests  map[string][]*idleConn // by destination (delivery.destKey)
	addrs  map[string][]*idleConn // by address (delivery.addrKey)
	n      int
	closed bool
	quits  sync.WaitGroup // QUITs of expired connections in progress
}

// idleConn is a connection in the Cache.
type idleConn struct {
	c          *conn
	t          target
	dest, addr string
	timer      *time.Timer
	in         bool // still in the Cache
}

// NewCache returns an empty cache.
func NewCache(o CacheOptions) *Cache {
	c := &Cache{dests: map[string][]*idleConn{}, addrs: map[string][]*idleConn{}}
	c.setOptions(o)
	return c
}

func (c *Cache) setOptions(o CacheOptions) {
	if o.MaxAge <= 0 {
		o.MaxAge = 300 * time.Second
	}
	if o.MaxPerDestination <= 0 {
		o.MaxPerDestination = 20
	}
	if o.MaxIdle <= 0 {
		o.MaxIdle = 100
	}
	c.o = o
}

// SetTimeLimits changes IdleTime and MaxAge (a reloaded configuration)
// for connections parked from now on.
func (c *Cache) SetTimeLimits(idle, maxAge time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	o := c.o
	o.IdleTime, o.MaxAge = idle, maxAge
	c.setOptions(o)
}

// Idle returns the number of idle connections.
func (c *Cache) Idle() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

// Close QUITs the idle connections and makes the cache keep no more. It
// returns when they are closed.
func (c *Cache) Close() error {
	c.mu.Lock()
	c.closed = true
	var all []*idleConn
	for _, list := range c.dests {
		for _, ic := range list {
			ic.timer.Stop()
			ic.in = false
			all = append(all, ic)
		}
	}
	clear(c.dests)
	clear(c.addrs)
	c.n = 0
	c.mu.Unlock()
	var wg sync.WaitGroup
	for _, ic := range all {
		wg.Go(ic.c.quit)
	}
	wg.Wait()
	c.quits.Wait()
	return nil
}

// take removes and returns the most recently parked connection under key
// (of dests or addrs), or nil. Connections past MaxAge are QUIT instead.
func (c *Cache) take(key string, byDest bool) *idleConn {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	m := c.addrs
	if byDest {
		m = c.dests
	}
	for list := m[key]; len(list) > 0; list = m[key] {
		ic := list[len(list)-1]
		c.remove(ic)
		ic.timer.Stop()
		if time.Since(ic.c.born) < c.o.MaxAge {
			return ic
		}
		c.quitLocked(ic)
	}
	return nil
}

// put parks ic, or QUITs it when the cache is closed, off or full.
func (c *Cache) put(ic *idleConn) {
	c.mu.Lock()
	if c.closed || c.o.IdleTime <= 0 || time.Since(ic.c.born) >= c.o.MaxAge ||
		len(c.dests[ic.dest]) >= c.o.MaxPerDestination || c.n >= c.o.MaxIdle {
		c.mu.Unlock()
		ic.c.quit()
		return
	}
	ic.in = true
	c.dests[ic.dest] = append(c.dests[ic.dest], ic)
	c.addrs[ic.addr] = append(c.addrs[ic.addr], ic)
	c.n++
	ic.timer = time.AfterFunc(c.o.IdleTime, func() { c.expire(ic) })
	c.mu.Unlock()
}

// expire QUITs ic when it is still idle after IdleTime.
func (c *Cache) expire(ic *idleConn) {
	c.mu.Lock()
	if !ic.in {
		c.mu.Unlock()
		return // taken or closed meanwhile
	}
	c.remove(ic)
	c.quits.Add(1) // Close waits for this QUIT
	c.mu.Unlock()
	defer c.quits.Done()
	ic.c.quit()
}

// quitLocked QUITs ic in the background; Close waits for it.
func (c *Cache) quitLocked(ic *idleConn) {
	c.quits.Add(1)
	go func() {
		defer c.quits.Done()
		ic.c.quit()
	}()
}

func (c *Cache) remove(ic *idleConn) {
	ic.in = false
	c.n--
	c.dests[ic.dest] = without(c.dests[ic.dest], ic)
	if len(c.dests[ic.dest]) == 0 {
		delete(c.dests, ic.dest)
	}
	c.addrs[ic.addr] = without(c.addrs[ic.addr], ic)
	if len(c.addrs[ic.addr]) == 0 {
		delete(c.addrs, ic.addr)
	}
}

func without(list []*idleConn, ic *idleConn) []*idleConn {
	for i, x := range list {
		if x == ic {
			copy(list[i:], list[i+1:])
			list[len(list)-1] = nil
			return list[:len(list)-1]
		}
	}
	return list
}
