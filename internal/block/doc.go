// Package block keeps the manual client blocks of `mailwarden block
// add|list|delete`: networks whose connections every listener drops at
// accept, before any greeting or TLS handshake (what admins otherwise do
// with iptables or fail2ban actions).
//
// The SQL table client_block is the truth, shared by every node; a change
// counter (client_block_serial) moves in the same transaction as every
// change. A Watcher holds an immutable Set built from the table and polls
// the counter (one tiny query a second), so that checking a client at
// accept costs no SQL and no lock: a few map lookups, one per prefix
// length in use. Expiry is judged at lookup time, so a block stops
// applying the moment it expires.
package block
