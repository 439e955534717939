// Package dkim signs and verifies DKIM (RFC 6376, RFC 8463 Ed25519,
// RFC 8301 algorithm rules) on top of github.com/emersion/go-msgauth: it
// keeps the signing keys and their rotation schedule in SQL (Store),
// picks the keys for a message as OpenDKIM's SigningTable and KeyTable do
// (Finder), signs (Sign) and verifies every signature of a message into
// Authentication-Results results (Verifier), looking keys up through
// dnsx with a small TTL cache.
//
// It does not decide what to do with a result (DMARC does), write header
// fields into messages (internal/msgauth does) or talk SMTP.
package dkim
