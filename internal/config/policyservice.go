package config

import "time"

// PolicyService holds Postfix's smtpd_policy_service_* parameters for
// check_policy_service, as [restrictions] keys named without the smtpd_
// prefix. A check_policy_service entry may override them for its service
// with Postfix 3.x's { inet:host:port, timeout=10s, ... } syntax.
type PolicyService struct {
	// PolicyServiceTimeout bounds connecting to, writing to and reading
	// from a policy server (smtpd_policy_service_timeout).
	PolicyServiceTimeout Duration `toml:"policy_service_timeout"`
	// PolicyServiceMaxIdle closes a connection idle this long
	// (smtpd_policy_service_max_idle).
	PolicyServiceMaxIdle Duration `toml:"policy_service_max_idle"`
	// PolicyServiceMaxTTL closes a connection this old after its current
	// request (smtpd_policy_service_max_ttl).
	PolicyServiceMaxTTL Duration `toml:"policy_service_max_ttl"`
	// PolicyServiceRequestLimit closes a connection after this many
	// requests; 0 is no limit (smtpd_policy_service_request_limit).
	PolicyServiceRequestLimit int `toml:"policy_service_request_limit"`
	// PolicyServiceTryLimit is how many times a request is sent before
	// giving up (smtpd_policy_service_try_limit).
	PolicyServiceTryLimit int `toml:"policy_service_try_limit"`
	// PolicyServiceRetryDelay is the pause between two tries
	// (smtpd_policy_service_retry_delay).
	PolicyServiceRetryDelay Duration `toml:"policy_service_retry_delay"`
	// PolicyServiceDefaultAction is the access(5) action taken when the
	// service cannot be asked (smtpd_policy_service_default_action).
	PolicyServiceDefaultAction string `toml:"policy_service_default_action"`
	// PolicyServicePolicyContext is sent as the policy_context attribute
	// (smtpd_policy_service_policy_context).
	PolicyServicePolicyContext string `toml:"policy_service_policy_context"`
	// PolicyServiceMaxConnections bounds the connections open at once to
	// one policy service (Mailwarden's; Postfix has one per smtpd
	// process): a request beyond it waits for a free one within the
	// timeout.
	PolicyServiceMaxConnections int `toml:"policy_service_max_connections"`
}

// DefaultPolicyService are Postfix's defaults.
func DefaultPolicyService() PolicyService {
	return PolicyService{
		PolicyServiceTimeout:        Duration(100 * time.Second),
		PolicyServiceMaxIdle:        Duration(300 * time.Second),
		PolicyServiceMaxTTL:         Duration(1000 * time.Second),
		PolicyServiceTryLimit:       2,
		PolicyServiceRetryDelay:     Duration(time.Second),
		PolicyServiceDefaultAction:  "451 4.3.5 Server configuration problem",
		PolicyServiceMaxConnections: 100,
	}
}

// check reports values Postfix would refuse.
func (p *PolicyService) check(bad func(key, format string, a ...any)) {
	for _, d := range []struct {
		key string
		v   Duration
	}{{"policy_service_timeout", p.PolicyServiceTimeout}, {"policy_service_max_idle", p.PolicyServiceMaxIdle},
		{"policy_service_max_ttl", p.PolicyServiceMaxTTL}, {"policy_service_retry_delay", p.PolicyServiceRetryDelay}} {
		if d.v <= 0 {
			bad("restrictions."+d.key, "must be a positive duration, got %s", d.v.D())
		}
	}
	if p.PolicyServiceTryLimit < 1 || p.PolicyServiceTryLimit > 100 {
		bad("restrictions.policy_service_try_limit", "must be from 1 to 100, got %d", p.PolicyServiceTryLimit)
	}
	if p.PolicyServiceRequestLimit < 0 {
		bad("restrictions.policy_service_request_limit", "must be 0 (no limit) or more, got %d", p.PolicyServiceRequestLimit)
	}
	if p.PolicyServiceMaxConnections < 1 {
		bad("restrictions.policy_service_max_connections", "must be 1 or more, got %d", p.PolicyServiceMaxConnections)
	}
	if p.PolicyServiceDefaultAction == "" {
		bad("restrictions.policy_service_default_action", "must not be empty (DUNNO ignores a failed service)")
	}
}
