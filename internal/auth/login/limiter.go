package login

import (
	"container/list"
	"net/netip"
	"slices"
	"time"
)

// defaultMaxEntries caps the per-IP table: about 100 bytes an entry plus
// the failure times, so some tens of MB at worst.
const defaultMaxEntries = 100_000

// limiter counts login attempts per client in a sliding window. An
// attempt counts as a failure from the moment it starts (begin) and stops
// counting only when it succeeds (release), so parallel guesses are capped
// exactly like serial ones: no more than max passwords of one client are
// ever being checked or failed within a window. Its memory is bounded:
// past maxEntries it forgets the client touched least recently. It is not
// safe for concurrent use; Authenticator locks around it.
type limiter struct {
	maxEntries int
	entries    map[netip.Addr]*list.Element // of *ipEntry
	lru        list.List                    // front: least recently touched
	lastID     uint64
}

type ipEntry struct {
	key         netip.Addr
	attempts    []attempt // within the window: failed ones and those in progress
	lockedUntil time.Time
	touched     time.Time
}

// attempt is one counted login attempt: started at (still in progress) or
// failed at.
type attempt struct {
	id     uint64
	at     time.Time
	failed bool
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

// begin reserves an attempt of key at now and returns its id (never 0).
// It refuses (false) while key is locked out, and while the failures and
// attempts in progress within window already number max.
func (l *limiter) begin(key netip.Addr, now time.Time, max int, window time.Duration) (uint64, bool) {
	l.sweep(now, window)
	if l.locked(key, now) {
		return 0, false
	}
	e := l.touch(key, now)
	e.prune(now, window)
	if len(e.attempts) >= max {
		return 0, false
	}
	l.lastID++
	e.attempts = append(e.attempts, attempt{id: l.lastID, at: now})
	return l.lastID, true
}

// release forgets attempt id of key: it succeeded, or it ended before any
// password was checked. An id no longer held (the lockout cleared it, or
// the entry was evicted) is ignored.
func (l *limiter) release(key netip.Addr, id uint64) {
	if el, ok := l.entries[key]; ok {
		e := el.Value.(*ipEntry)
		e.attempts = slices.DeleteFunc(e.attempts, func(a attempt) bool { return a.id == id })
	}
}

// fail records that attempt id of key (0: one never reserved) failed at
// now. When that makes max failures within window (attempts in progress
// do not lock, they only hold their slot), key is locked until window
// after now, every attempt it held is forgotten, and fail returns true
// (once per lockout).
func (l *limiter) fail(key netip.Addr, id uint64, now time.Time, max int, window time.Duration) bool {
	l.sweep(now, window)
	if l.locked(key, now) {
		return false // reserved before the lockout, which already counted it
	}
	e := l.touch(key, now)
	e.prune(now, window)
	i := slices.IndexFunc(e.attempts, func(a attempt) bool { return id != 0 && a.id == id })
	if i >= 0 {
		e.attempts[i].at, e.attempts[i].failed = now, true
	} else {
		e.attempts = append(e.attempts, attempt{at: now, failed: true})
	}
	failed := 0
	for _, a := range e.attempts {
		if a.failed {
			failed++
		}
	}
	if failed < max {
		return false
	}
	e.attempts = e.attempts[:0]
	e.lockedUntil = now.Add(window)
	return true
}

// prune drops the attempts made or failed a window or longer before now;
// an attempt abandoned half-way (the client went away) ages out so.
func (e *ipEntry) prune(now time.Time, window time.Duration) {
	cut := now.Add(-window)
	e.attempts = slices.DeleteFunc(e.attempts, func(a attempt) bool { return !a.at.After(cut) })
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
