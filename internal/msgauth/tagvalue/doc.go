// Package tagvalue parses the tag=value lists of DKIM (RFC 6376 3.2),
// which ARC (RFC 8617) and DomainKeys (RFC 4870 3.2) share: signature
// fields and key records. It only splits and checks the syntax; what a
// tag means is the caller's business.
package tagvalue
