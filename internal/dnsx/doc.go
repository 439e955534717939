// Package dnsx is the DNS resolver every other package uses: MX, A/AAAA, TXT
// and PTR lookups (Resolver), and for DNS lists A and TXT with their TTLs
// and NS (Records) over miekg/dns against configured resolvers (or the
// system's /etc/resolv.conf), with errors classified as permanent
// (ErrNotFound, ErrNullMX) or temporary (ErrTemporary) so callers can answer
// 5xx or 4xx. Tests point it at the in-process server in package dnstest.
//
// RRLookup (rr.go) is the single-type lookup with NXDOMAIN and NODATA
// told apart from failures (SPF's void lookups), and RRCache keeps its
// answers for their TTL for a caller that puts one in front.
//
// It does not otherwise cache, validate DNSSEC or decide policy (DNSBL,
// SPF...): those belong to its callers.
package dnsx
