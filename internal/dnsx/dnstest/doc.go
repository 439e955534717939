// Package dnstest runs an in-process authoritative DNS server on
// 127.0.0.1 (UDP and TCP, random port; NewAt for a fixed address such as
// port 53 of another loopback address) for hermetic tests: add MX, A,
// AAAA, TXT, PTR, NS and CNAME records with one call each, make a name
// answer SERVFAIL, time out, or come back truncated over UDP, then point
// [dns] resolvers (or dnsx.New) at Addr. Negative answers carry a SOA
// (RFC 2308). Only tests import it.
package dnstest
