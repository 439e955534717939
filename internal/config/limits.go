package config

import (
	"net/netip"
	"time"
)

// SMTPLimits are Postfix anvil's per-client rate limits and smtpd's error
// handling. They are keys of [smtp] (SMTP embeds this struct), spelt as
// Postfix spells them without the "smtpd_" prefix. A rate limit of 0 is
// off, as in Postfix.
type SMTPLimits struct {
	// ClientConnectionRateLimit is smtpd_client_connection_rate_limit:
	// connections one client may make per RateTimeUnit.
	ClientConnectionRateLimit int `toml:"client_connection_rate_limit"`
	// ClientMessageRateLimit is smtpd_client_message_rate_limit: MAIL
	// commands (message delivery requests) per RateTimeUnit.
	ClientMessageRateLimit int `toml:"client_message_rate_limit"`
	// ClientRecipientRateLimit is smtpd_client_recipient_rate_limit: RCPT
	// commands per RateTimeUnit, accepted or not.
	ClientRecipientRateLimit int `toml:"client_recipient_rate_limit"`
	// ClientNewTLSSessionRateLimit is
	// smtpd_client_new_tls_session_rate_limit: TLS handshakes that did
	// not resume a session, per RateTimeUnit.
	ClientNewTLSSessionRateLimit int `toml:"client_new_tls_session_rate_limit"`
	// ClientAuthRateLimit is smtpd_client_auth_rate_limit: AUTH commands
	// per RateTimeUnit.
	ClientAuthRateLimit int `toml:"client_auth_rate_limit"`
	// RateTimeUnit is anvil_rate_time_unit (60s).
	RateTimeUnit Duration `toml:"rate_time_unit"`
	// ClientEventLimitExceptions is smtpd_client_event_limit_exceptions:
	// networks (CIDR or address) the rate limits and
	// max_connections_per_ip do not apply to. Absent: mynetworks.
	ClientEventLimitExceptions []string `toml:"client_event_limit_exceptions"`
	// ErrorSleepTime is smtpd_error_sleep_time (1s): the delay before
	// each error reply once a client has made SoftErrorLimit errors.
	ErrorSleepTime Duration `toml:"error_sleep_time"`
	// SoftErrorLimit is smtpd_soft_error_limit (10).
	SoftErrorLimit int `toml:"soft_error_limit"`

	// EventLimitExceptions is ClientEventLimitExceptions parsed (mynetworks
	// when the key is absent).
	EventLimitExceptions []netip.Prefix `toml:"-"`
}

// defaultSMTPLimits are Postfix's defaults: every rate limit off.
func defaultSMTPLimits() SMTPLimits {
	return SMTPLimits{RateTimeUnit: Duration(time.Minute), ErrorSleepTime: Duration(time.Second), SoftErrorLimit: 10}
}

// EventLimitExempt reports whether ip is in
// smtp.client_event_limit_exceptions (mynetworks when unset).
func (c *Config) EventLimitExempt(ip netip.Addr) bool {
	if c.SMTP.ClientEventLimitExceptions == nil {
		return c.InMyNetworks(ip)
	}
	return InNets(c.SMTP.EventLimitExceptions, ip)
}

// validateLimits checks the [smtp] rate and error limits.
func (c *Config) validateLimits(bad func(key, format string, a ...any)) {
	s := &c.SMTP.SMTPLimits
	for _, f := range []struct {
		key string
		v   int
	}{
		{"smtp.client_connection_rate_limit", s.ClientConnectionRateLimit},
		{"smtp.client_message_rate_limit", s.ClientMessageRateLimit},
		{"smtp.client_recipient_rate_limit", s.ClientRecipientRateLimit},
		{"smtp.client_new_tls_session_rate_limit", s.ClientNewTLSSessionRateLimit},
		{"smtp.client_auth_rate_limit", s.ClientAuthRateLimit},
		{"smtp.soft_error_limit", s.SoftErrorLimit},
	} {
		if f.v < 0 {
			bad(f.key, "must not be negative (0 turns it off), got %d", f.v)
		}
	}
	if d := s.RateTimeUnit.D(); d < time.Second || d%time.Second != 0 {
		bad("smtp.rate_time_unit", "must be a whole number of seconds, at least 1s, got %s", d)
	}
	if d := s.ErrorSleepTime.D(); d < 0 || d > 5*time.Minute {
		bad("smtp.error_sleep_time", "must be between 0 and 5m, got %s", d)
	}
	s.EventLimitExceptions = nil
	for _, n := range s.ClientEventLimitExceptions {
		p, err := parseNetwork(n)
		if err != nil {
			bad("smtp.client_event_limit_exceptions", "%v", err)
			continue
		}
		s.EventLimitExceptions = append(s.EventLimitExceptions, p)
	}
}
