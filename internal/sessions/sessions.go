package sessions

import (
	"context"
	"net/netip"
	"sort"
	"strings"
	"sync"
	"time"
)

// Kicker ends a session cleanly: it tells the client why (IMAP "* BYE",
// POP3 "-ERR"), without waiting, and makes the session end soon; it
// must be safe to call from any goroutine, and more than once.
type Kicker interface{ Kick() }

// Entry is one logged-in session, embedded in the server's own session
// value so that registering allocates nothing of its own. Its fields are
// set by Add and read under the Registry's lock.
type Entry struct {
	user     string
	protocol string
	remote   netip.Addr
	since    time.Time
	k        Kicker
}

// Info is what Who reports of one session.
type Info struct {
	User     string
	Protocol string // "imap", "pop3"
	Remote   netip.Addr
	Since    time.Time
}

// Registry is the set of live sessions. The zero value is ready to use; a
// nil *Registry registers nothing (servers built without one, in tests).
type Registry struct {
	mu   sync.Mutex
	live map[*Entry]struct{}
}

// Add registers e, a session of user over protocol from remote that k
// ends.
func (r *Registry) Add(e *Entry, user, protocol string, remote netip.Addr, k Kicker) {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.live == nil {
		r.live = map[*Entry]struct{}{}
	}
	e.user, e.protocol, e.remote, e.since, e.k = user, protocol, remote, time.Now(), k
	r.live[e] = struct{}{}
}

// Remove unregisters e; it does nothing when e is not registered.
func (r *Registry) Remove(e *Entry) {
	if r == nil {
		return
	}
	r.mu.Lock()
	delete(r.live, e)
	r.mu.Unlock()
}

// Len is the number of live sessions.
func (r *Registry) Len() int {
	if r == nil {
		return 0
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.live)
}

// Who lists the live sessions, by user, then protocol, then remote
// address, then start.
func (r *Registry) Who() []Info {
	if r == nil {
		return nil
	}
	r.mu.Lock()
	out := make([]Info, 0, len(r.live))
	for e := range r.live {
		out = append(out, Info{User: e.user, Protocol: e.protocol, Remote: e.remote, Since: e.since})
	}
	r.mu.Unlock()
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.User != b.User {
			return a.User < b.User
		}
		if a.Protocol != b.Protocol {
			return a.Protocol < b.Protocol
		}
		if a.Remote != b.Remote {
			return a.Remote.Less(b.Remote)
		}
		return a.Since.Before(b.Since)
	})
	return out
}

// Match says which sessions a kick is for.
type Match struct {
	User    string       // the login name, compared without regard to case; "" matches none
	Network netip.Prefix // client addresses; the zero Prefix matches none
}

// ParseMatch reads what `mailwarden kick` is given: a client address or
// network (192.0.2.7, 2001:db8::/64), else a user name.
func ParseMatch(s string) Match {
	if ip, err := netip.ParseAddr(s); err == nil {
		ip = ip.Unmap().WithZone("")
		return Match{Network: netip.PrefixFrom(ip, ip.BitLen())}
	}
	if p, err := netip.ParsePrefix(s); err == nil {
		return Match{Network: p.Masked()}
	}
	return Match{User: s}
}

// Matches reports whether a session of user from remote is one m is for.
func (m Match) Matches(user string, remote netip.Addr) bool {
	if m.User != "" {
		return strings.EqualFold(m.User, user)
	}
	return m.Network.IsValid() && m.Network.Contains(remote)
}

// Kick ends every session m matches and waits until they have ended or
// ctx is done. It returns how many sessions it kicked and how many of
// those were still open when it stopped waiting.
func (r *Registry) Kick(ctx context.Context, m Match) (kicked, left int) {
	if r == nil {
		return 0, 0
	}
	r.mu.Lock()
	var targets []*Entry
	for e := range r.live {
		if m.Matches(e.user, e.remote) {
			targets = append(targets, e)
		}
	}
	r.mu.Unlock()
	for _, e := range targets {
		e.k.Kick()
	}
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for {
		left = r.open(targets)
		if left == 0 {
			return len(targets), 0
		}
		select {
		case <-ctx.Done():
			return len(targets), left
		case <-t.C:
		}
	}
}

// open counts the entries of es still registered.
func (r *Registry) open(es []*Entry) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, e := range es {
		if _, ok := r.live[e]; ok {
			n++
		}
	}
	return n
}
