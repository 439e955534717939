package anvil

import (
	"context"
	"net/netip"
	"time"

	"mailwarden/internal/config"
)

// screenTimeout bounds the connect-time read of postscreen_cache.
const screenTimeout = 2 * time.Second

// Pregreeted reports whether ip talked before the greeting on an earlier
// connection within postscreen.greet_ttl (on any node). With a Store, SQL
// is asked (one indexed read per connection, only while
// postscreen.greet_action is not ignore), so that `mailwarden auth
// unlock` applies at once; without one, memory answers. A database error
// answers false: the test runs again on this connection.
func (l *Limiter) Pregreeted(cfg *config.Config, ip netip.Addr) bool {
	if cfg.Postscreen.GreetAction == "ignore" || !ip.IsValid() || cfg.InMyNetworks(ip) {
		return false
	}
	ip = ip.Unmap()
	l.mu.Lock()
	now := l.now()
	if l.st != nil {
		l.mu.Unlock()
		return l.rememberedInSQL(ip, now)
	}
	until, ok := l.screened[ip]
	if ok && !now.Before(until) {
		delete(l.screened, ip)
		ok = false
	}
	l.mu.Unlock()
	return ok
}

func (l *Limiter) rememberedInSQL(ip netip.Addr, now time.Time) bool {
	ctx, cancel := context.WithTimeout(context.Background(), screenTimeout)
	defer cancel()
	until, err := l.st.Remembered(ctx, ip.String(), Pregreet, now)
	if err != nil {
		l.log.Warn("postscreen: " + err.Error())
		return false
	}
	return !until.IsZero()
}

// RememberPregreet remembers ip as talking before the greeting for
// postscreen.greet_ttl, in memory and in SQL.
func (l *Limiter) RememberPregreet(cfg *config.Config, ip netip.Addr) {
	if !ip.IsValid() {
		return
	}
	ip = ip.Unmap()
	l.mu.Lock()
	until := l.now().Add(cfg.Postscreen.GreetTTL.D())
	l.mu.Unlock()
	if l.st == nil {
		l.remember(ip, until)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), screenTimeout)
	defer cancel()
	if err := l.st.Remember(ctx, ip.String(), Pregreet, until); err != nil {
		l.log.Warn("postscreen: " + err.Error())
	}
}

func (l *Limiter) remember(ip netip.Addr, until time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.screened) >= l.max {
		now := l.now()
		for k, u := range l.screened {
			if !now.Before(u) {
				delete(l.screened, k)
			}
		}
		if len(l.screened) >= l.max {
			return // SQL still has it
		}
	}
	l.screened[ip] = until
}
