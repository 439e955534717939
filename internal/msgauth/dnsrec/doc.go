// Package dnsrec lists the DNS records a mail domain served by Mailwarden
// should publish (MX, SPF, DKIM, DMARC, MTA-STS and TLS-RPT) in BIND
// zone-file syntax, and checks them against what live DNS answers. It
// only reads DNS; it never changes a key or a zone.
package dnsrec
