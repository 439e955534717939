// Package arc implements the Authenticated Received Chain (RFC 8617):
// it parses the ARC sets of a message, validates the chain (5.2) with
// keys fetched from DNS, and seals a message with the next set
// (ARC-Authentication-Results, ARC-Message-Signature, ARC-Seal; 5.1).
//
// It supports rsa-sha256 and ed25519-sha256 (RFC 8463) and the simple
// and relaxed canonicalizations of DKIM (RFC 6376 3.4). It reads a
// message once per call, the header in memory (bounded) and the body
// streamed through its hashes. It does not decide what a verdict means
// for delivery (DMARC does), nor where keys come from when sealing.
package arc
