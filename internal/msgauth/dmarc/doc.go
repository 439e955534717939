// Package dmarc evaluates DMARC (RFC 7489) for inbound mail and keeps what
// aggregate reports need.
//
// It owns: the policy record parser (RFC 7489 6.3, 6.4), policy discovery
// (the RFC5322.From domain, then its organizational domain found with the
// public suffix list of golang.org/x/net/publicsuffix, RFC 7489 3.2 and
// 6.6.3; the DMARCbis DNS tree walk is not implemented), identifier
// alignment (relaxed and strict, RFC 7489 3.1), the policy to apply (p,
// sp, and DMARCbis np for non-existent subdomains), pct sampling with an
// injectable sampler, and the aggregate report format (RFC 7489 7.2 and
// appendix C): building, compressing and naming a report, and parsing the
// reports other receivers send us.
//
// It does not read messages, talk SMTP, queue mail or touch SQL: the glue
// in internal/msgauth (dmarc.go) feeds it SPF and DKIM results and turns
// its Result into an Authentication-Results entry and an action, and
// package dmarcreport stores results and sends and receives reports.
package dmarc
