// Package dmarc evaluates DMARC (RFC 7489) for inbound mail and keeps what
// aggregate reports need.
//
// It owns: the policy record parser (RFC 7489 6.3, 6.4, with DMARCbis's
// np= and psd=), policy discovery and the organizational domain by the
// DMARCbis DNS tree walk (RFC 9989 4.10) or, when configured, the public
// suffix list of golang.org/x/net/publicsuffix (RFC 7489 3.2, 6.6.3), identifier
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
