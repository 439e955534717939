// Package smtpclient hands one message to one destination: the MX hosts of
// a domain (RFC 5321 section 5: preference order, implicit MX, RFC 7505
// null MX) or an explicit next hop (relayhost, transport map, LMTP over TCP
// or a unix socket). It speaks EHLO/LHLO, STARTTLS at the configured level,
// SASL PLAIN to relays, SIZE, 8BITMIME, SMTPUTF8 and DSN parameters, and
// returns one Result per recipient: accepted, temporary (4xx) or permanent
// (5xx).
//
// It wraps github.com/emersion/go-smtp's client. It does not queue, retry
// later, write bounces or log Postfix-style lines: the queue does that from
// the Results. Commands are not pipelined (go-smtp's client waits for each
// reply).
package smtpclient
