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
// connection within postscreen.greet_ttl (on any node). A client
// remembered here is answered from memory; otherwise SQL is asked, only
// while postscreen.greet_action is not ignore. A database error answers
// false: the test runs again on this connection.
func (l *Limiter) Pregreeted(cfg *config.Config, ip netip.Addr) bool {
	if cfg.Postscreen.GreetAction == "ignore" || !ip.IsValid() || cfg.InMyNetworks(ip) {
		return false
	}
	ip = ip.Unmap()
	l.mu.Lock()
	now := l.now()
	until, ok := l.screened[ip]
	if ok && !now.Before(until) {
		delete(l.screened, ip)
		ok = false
	}
	l.mu.Unlock()
	if ok || l.st == nil {
		return ok
	}
	ctx, cancel := context.WithTimeout(context.Background(), screenTimeout)
	defer cancel()
	until, err := l.st.Remembered(ctx, ip.String(), Pregreet, now)
	if err != nil {
		l.log.Warn("postscreen: " + err.Error())
		return false
	}
	if until.IsZero() {
		return false
	}
	l.remember(ip, until)
	return true
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
	l.remember(ip, until)
	if l.st == nil {
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
