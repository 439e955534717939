// Package policyproto speaks Postfix's SMTPD policy delegation protocol
// (SMTPD_POLICY_README): a request is "name=value" lines ended by an empty
// line, a reply is "action=..." and an empty line, and one connection
// carries many request/reply pairs. It reads with limits on line length,
// attribute count and total size, so a peer cannot make it buffer without
// bound, and writes attributes refusing names or values that would break
// the framing. It owns only the wire format: what the attributes mean is
// the business of internal/policy (the check_policy_service client) and
// internal/policyd (the server).
package policyproto
