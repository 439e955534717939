// Package policy decides what happens to a client, a sender or a recipient
// at each SMTP stage: it owns the check interface (one Check looks at one
// Request and returns a Verdict), the ordered check lists with Postfix's
// semantics (DUNNO goes on, OK/permit ends a list, REJECT and DEFER end the
// evaluation, PREPEND, HOLD, FILTER, REDIRECT, BCC and WARN are side
// effects) and the built-in checks under Postfix's names
// (permit_mynetworks, reject_unauth_destination, ...). It does not speak
// SMTP, read the network or store mail: the SMTP engine builds Requests and
// applies Verdicts.
package policy
