// Package netserve is the network plumbing the protocol servers
// (smtpserver, pop3server, imapserver) share: the accept loop with its
// back-off on EMFILE and the like, counting connections in total, per
// client IP and per client network (IPv4 /24, IPv6 /64) with a reserve of
// slots for trusted clients, refusing clients over those limits without
// holding up the accept loop, tracking the live connections and listeners
// so that a shutdown can stop accepting, drain the connections and close
// what is left, and a session's read deadline that a shutdown cuts short.
//
// Guard wraps a listener so that blocked clients (mailwarden block add)
// are dropped at accept, before the protocol server sees them.
//
// It does not speak any protocol: greetings, replies (the one-line refusal
// included), log lines other than the accept back-off, TLS, and what
// draining means to a session stay in the servers, which hand in the texts
// and functions they need. It reads no configuration either: the limits
// come with each connection.
package netserve
