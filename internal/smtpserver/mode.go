package smtpserver

import (
	"net/netip"

	"mailwarden/internal/config"
)

// mode is the kind of service a listener offers. Only the MX service exists
// today; submission and submissions will add AUTH (a session type that also
// implements smtp.AuthSession), implicit TLS and their own relay rule here,
// without touching the session code.
type mode int

const (
	// modeMX is port 25: mail from the world for our domains.
	modeMX mode = iota
)

// service names the mode in logs (Postfix master.cf service names).
func (m mode) service() string {
	return "smtp"
}

// mayRelay reports whether a client may send to a foreign domain. On MX only
// mynetworks may (Postfix permit_mynetworks, reject_unauth_destination).
func (m mode) mayRelay(cfg *config.Config, ip netip.Addr) bool {
	return ip.IsValid() && cfg.InMyNetworks(ip)
}

// protocol is the RFC 3848 "with" keyword for the Received header.
func (m mode) protocol(esmtp, tls bool) string {
	switch {
	case esmtp && tls:
		return "ESMTPS"
	case esmtp:
		return "ESMTP"
	case tls:
		return "SMTPS"
	}
	return "SMTP"
}
