package login

import (
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// IPString is ip as log lines show it: unmapped, "unknown" when invalid.
func IPString(ip netip.Addr) string {
	if !ip.IsValid() {
		return "unknown"
	}
	return ip.Unmap().String()
}

// Client is the "user=<x>, method=M, rip=.., lip=.., TLS" part of the
// login services' log lines, as Dovecot writes it: user and method only
// once there was a login attempt, and "secured" for plaintext over
// loopback.
func Client(user, mech string, rip, lip netip.Addr, tls bool) string {
	var b strings.Builder
	if user != "" {
		b.WriteString("user=<" + LogSafe(user) + ">, method=" + mech + ", ")
	}
	b.WriteString("rip=" + IPString(rip) + ", lip=" + IPString(lip))
	switch {
	case tls:
		b.WriteString(", TLS")
	case rip.IsLoopback():
		b.WriteString(", secured")
	}
	return b.String()
}

// NotLoggedIn is what the "Disconnected" line of a session that did not
// log in says in parentheses: "no auth attempts in N secs", "auth failed,
// F attempts in N secs" or "tried to use disallowed plaintext auth", N
// counting from start.
func NotLoggedIn(start time.Time, fails int, refused bool) string {
	secs := strconv.Itoa(int(time.Since(start).Seconds()))
	switch {
	case fails > 0:
		return "auth failed, " + strconv.Itoa(fails) + " attempts in " + secs + " secs"
	case refused:
		return "tried to use disallowed plaintext auth"
	}
	return "no auth attempts in " + secs + " secs"
}
