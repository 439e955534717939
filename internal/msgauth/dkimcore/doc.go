// Package dkimcore holds the pieces of DKIM signatures (RFC 6376) that
// more than one method needs: header and body canonicalization (with the
// l= body length limit), choosing the signed header fields, the
// signature field with b= emptied, and DKIM key records (RFC 6376 3.6.1,
// RFC 8463) with RSA and Ed25519 verification.
//
// ARC (RFC 8617) seals and message signatures are built on it, and so is
// the verification of DKIM signatures with l=, which go-msgauth refuses.
// It reads no DNS itself: FetchKey asks a TXTLookup the caller passes.
package dkimcore
