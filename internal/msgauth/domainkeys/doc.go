// Package domainkeys verifies and makes DomainKey-Signature fields
// (RFC 4870, historic: what dkimproxy and Yahoo! did before DKIM): rsa-sha1
// over the header fields below the signature and the body, canonicalized
// "simple" or "nofws", the signing domain checked against the Sender
// (else From) address, keys from selector._domainkey.domain.
//
// It reads a message once per call (header in memory, bounded; body
// streamed). It reports results; what they mean for delivery is the
// caller's business.
package domainkeys
