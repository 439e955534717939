// Package policyd serves Postfix's SMTPD policy delegation protocol from
// Mailwarden's own checks (`mailwarden policyd`), so an existing Postfix
// can use them through check_policy_service while its admin migrates:
// each request becomes a policy.Request at the stage its protocol_state
// names, a policy.List decides, and the verdict goes back as one access(5)
// action (DUNNO, DEFER_IF_PERMIT text, 450 4.2.0 text, PREPEND field...).
// It bounds connections, request sizes and the time a decision may take;
// a check that fails answers with a temporary error, never a silent
// accept and never a hang. It does not build the list or open databases:
// the command does (cmd/mailwarden/policyd.go).
package policyd
