// Package anvil counts client events the way Postfix's anvil server does
// (connections, MAIL, RCPT, new TLS sessions and AUTH commands per client
// and time unit) and remembers postscreen's pregreet verdicts.
//
// Counts live in SQL (anvil_counter, portable statements) so that several
// nodes share them; the hot path never waits for SQL. A Limiter counts in
// memory and a flush (Run, once a second) adds each node's new events to
// the shared row of their window and reads the merged total back.
//
// Windows are fixed and aligned to multiples of the time unit since the
// Unix epoch, so every node names a window alike; the rate a limit is
// compared with is the current window's count plus the previous window's
// weighted by how much of it still lies within one time unit (a sliding
// window estimate, so a burst across a window boundary is not counted
// twice as leniently). Across nodes a client may get, beyond its limit,
// what other nodes counted since their last flush (at most about one
// flush interval of its traffic): the database is the truth, memory a
// cache of it.
//
// It decides nothing about replies: smtpserver asks it through its
// Limiter interface and answers as Postfix's smtpd does.
package anvil
