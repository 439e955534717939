// Package autoblock is the built-in fail2ban: it listens to the mail
// events (login lockouts, sessions over the error limit, rate limits hit,
// pregreet failures), counts each client's offences per cause in SQL
// (anvil_counter, so every node adds to the same count) and, when a
// client reaches a cause's threshold within [autoblock] find_time, puts
// it on the block list (internal/block) for ban_time, which drops its
// connections at accept on every listener. An optional command (an
// nftables set, say) is run for each block, without a shell.
//
// It never blocks mynetworks or [autoblock] ignore_networks. It does not
// decide any SMTP reply and never delays the session that reported the
// event: offences are handed to one worker goroutine.
package autoblock
