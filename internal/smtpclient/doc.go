// Package smtpclient hands one message to one destination: the MX hosts of
// a domain (RFC 5321 section 5: preference order, implicit MX, RFC 7505
// null MX) or an explicit next hop (relayhost, transport map, LMTP over TCP
// or a unix socket). It speaks EHLO/LHLO, STARTTLS at the configured level,
// SASL PLAIN to relays, SIZE, 8BITMIME, SMTPUTF8 and DSN parameters, and
// returns one Result per recipient: accepted, temporary (4xx) or permanent
// (5xx).
//
// The protocol is ours, on buffered socket I/O (go-smtp's client cannot
// pipeline): MAIL, the RCPTs and DATA go out as one group when the server
// offers PIPELINING (RFC 2920) and always for LMTP, in batches of at most
// a few KB so that neither side can block writing while the other does;
// without PIPELINING, one command at a time. A Cache keeps connections
// open between deliveries (Postfix's connection cache). It does not
// queue, retry later, write bounces or log Postfix-style lines: the queue
// does that from the Results.
package smtpclient
