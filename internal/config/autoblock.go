package config

import (
	"net/netip"
	"strings"
	"time"
)

// Autoblock is the built-in fail2ban ([autoblock]): a client that hits a
// limit too often within FindTime is put on the block list (mailwarden
// block list shows it) for BanTime, and so dropped at accept on every
// listener. Clients in mynetworks and IgnoreNetworks are never blocked.
type Autoblock struct {
	Enabled bool `toml:"enabled"`
	// How many times within FindTime each cause blocks a client (0: that
	// cause never does). AuthLockouts counts the times the client reached
	// the login-failure limit ([auth] max_failures); ErrorLimits the
	// sessions it lost to hard_error_limit; RateLimits the times it hit a
	// rate limit or max_connections_per_ip; Pregreets the times it talked
	// before the greeting (counted when postscreen.greet_action is not
	// ignore).
	AuthLockouts int `toml:"auth_lockouts"`
	ErrorLimits  int `toml:"error_limits"`
	RateLimits   int `toml:"rate_limits"`
	Pregreets    int `toml:"pregreets"`
	// FindTime is fail2ban's findtime (10m); BanTime its bantime (1h).
	FindTime Duration `toml:"find_time"`
	BanTime  Duration `toml:"ban_time"`
	// IgnoreNetworks are never blocked (fail2ban's ignoreip); mynetworks
	// never are either.
	IgnoreNetworks []string `toml:"ignore_networks"`
	// Command, when set, runs for every automatic block, without a shell:
	// the words are split on blanks, %a becomes the client address and %d
	// the duration in seconds. Example:
	// "nft add element inet filter mailwarden { %a timeout %ds }".
	Command string `toml:"command"`

	IgnoreNets []netip.Prefix `toml:"-"`
}

func defaultAutoblock() Autoblock {
	return Autoblock{AuthLockouts: 1, ErrorLimits: 3, RateLimits: 5, Pregreets: 1,
		FindTime: Duration(10 * time.Minute), BanTime: Duration(time.Hour)}
}

// AutoblockIgnored reports whether ip must never be blocked automatically.
func (c *Config) AutoblockIgnored(ip netip.Addr) bool {
	return c.InMyNetworks(ip) || InNets(c.Autoblock.IgnoreNets, ip)
}

// validateAutoblock checks [autoblock].
func (c *Config) validateAutoblock(bad func(key, format string, a ...any)) {
	a := &c.Autoblock
	for _, f := range []struct {
		key string
		v   int
	}{
		{"autoblock.auth_lockouts", a.AuthLockouts},
		{"autoblock.error_limits", a.ErrorLimits},
		{"autoblock.rate_limits", a.RateLimits},
		{"autoblock.pregreets", a.Pregreets},
	} {
		if f.v < 0 {
			bad(f.key, "must not be negative (0: never blocks), got %d", f.v)
		}
	}
	if d := a.FindTime.D(); d < time.Second || d%time.Second != 0 {
		bad("autoblock.find_time", "must be a whole number of seconds, at least 1s, got %s", d)
	}
	if a.BanTime.D() < time.Second {
		bad("autoblock.ban_time", "must be at least 1s, got %s", a.BanTime.D())
	}
	a.IgnoreNets = nil
	for _, n := range a.IgnoreNetworks {
		p, err := parseNetwork(n)
		if err != nil {
			bad("autoblock.ignore_networks", "%v", err)
			continue
		}
		a.IgnoreNets = append(a.IgnoreNets, p)
	}
	if strings.ContainsAny(a.Command, "\r\n") {
		bad("autoblock.command", "must be one line")
	} else if a.Command != "" && len(strings.Fields(a.Command)) == 0 {
		bad("autoblock.command", "has no command word")
	}
}
