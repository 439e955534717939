// Package spf evaluates Sender Policy Framework records (RFC 7208): the
// check_host() function for the HELO and MAIL FROM identities (2.3, 2.4),
// every mechanism and modifier, macros in all their forms (section 7),
// the explanation of a fail (exp=, 6.2) and the processing limits of
// 4.6.4 (10 terms that query DNS, 2 void lookups, 10 MX and 10 PTR
// names per term). DNS goes through a dnsx.RRLookup (put a dnsx.RRCache
// in front of it to share answers between checks); every evaluation runs
// under a deadline, so a dead resolver gives TempError, never a hang.
//
// It only computes results (Verdict). What to do with them — reject,
// defer, Received-SPF and Authentication-Results — belongs to its callers
// (internal/policy's check_spf, internal/smtpserver).
package spf
