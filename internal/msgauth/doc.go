// Package msgauth runs message authentication on the SMTP pipeline: it
// verifies inbound mail at end of data (iprev, DKIM, DomainKeys, ARC,
// DMARC, using the SPF verdict made at MAIL) and writes the one
// Authentication-Results field (RFC 8601), and it signs mail from
// authenticated and trusted senders on its way into the queue.
//
// The methods live in subpackages (spf, dkim, domainkeys, arc, dmarc);
// this package only orders them and turns their results into header
// edits and a verdict. It never delivers, queues or talks SMTP itself.
package msgauth
