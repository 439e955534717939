package login

import (
	"container/list"
	"net/netip"
	"time"
)

// defaultMaxEntries caps the per-IP table: about 100 bytes an entry plus
// the failure times, so some tens of MB at worst.
const defaultMaxEntries = 100_000

// limiter counts failed logins per client in a sliding window. Its memory
// is bounded: past maxEntries it forgets the client touched least recently.
// It is not safe for concurrent use; Authenticator locks around it.
type limiter struct {
	maxEntries int
	entries    map[netip.Addr]*list.Element // of *ipEntry
	lru        list.List                    // front: least recently touched
}

type ipEntry struct {
	key         netip.Addr
	fails       []time.Time // within the window, oldest first
	lockedUntil time.Time
	touched     time.Time
}

func newLimiter(maxEntries int) *limiter {
	return &limiter{maxEntries: maxEntries, entries: map[netip.Addr]*list.Element{}}
}

// clientKey is what failures are counted against: the IPv4 address, or the
// /64 an IPv6 address is in, since one host commonly holds a whole /64.
func clientKey(ip netip.Addr) netip.Addr {
	ip = ip.Unmap()
	if ip.Is6() {
		p, err := ip.Prefix(64)
		if err == nil {
			return p.Addr()
		}
	}
	return ip.WithZone("")
}

// locked reports whether key is refused until some time after now.
func (l *limiter) locked(key netip.Addr, now time.Time) bool {
	el, ok := l.entries[key]
	if !ok {
		return false
	}
	return now.Before(el.Value.(*ipEntry).lockedUntil)
}

// fail records a failed login of key at now. When that makes max failures
// within window, key is locked until window after now and fail returns
// true (once per lockout).
func (l *limiter) fail(key netip.Addr, now time.Time, max int, window time.Duration) bool {
	l.sweep(now, window)
	e := l.touch(key, now)
	cut := 0
	for cut < len(e.fails) && !e.fails[cut].After(now.Add(-window)) {
		cut++
	}
	e.fails = append(e.fails[:0], e.fails[cut:]...)
	e.fails = append(e.fails, now)
	if len(e.fails) < max {
		return false
	}
	e.fails = e.fails[:0]
	e.lockedUntil = now.Add(window)
	return true
}

// touch finds or makes key's entry and marks it most recently used,
// evicting the least recently used entry when the table is full.
func (l *limiter) touch(key netip.Addr, now time.Time) *ipEntry {
	if el, ok := l.entries[key]; ok {
		l.lru.MoveToBack(el)
		e := el.Value.(*ipEntry)
		e.touched = now
		return e
	}
	for len(l.entries) >= l.maxEntries && l.lru.Len() > 0 {
		l.remove(l.lru.Front())
	}
	e := &ipEntry{key: key, touched: now}
	l.entries[key] = l.lru.PushBack(e)
	return e
}

// sweep drops a few entries from the front that no longer matter: no
// failure within the window and no lockout. Entries at the front are the
// oldest, so this keeps the table to the clients of about one window.
func (l *limiter) sweep(now time.Time, window time.Duration) {
	for range 4 {
		el := l.lru.Front()
		if el == nil {
			return
		}
		e := el.Value.(*ipEntry)
		if now.Sub(e.touched) < window || now.Before(e.lockedUntil) {
			return
		}
		l.remove(el)
	}
}

func (l *limiter) remove(el *list.Element) {
	delete(l.entries, el.Value.(*ipEntry).key)
	l.lru.Remove(el)
}

func (l *limiter) len() int { return len(l.entries) }
