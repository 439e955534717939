// Package greylist is postgrey's greylisting and taRgrey's tarpitting,
// built in: the restriction check_greylist (a policy.Factory), its state
// in SQL (triplets of client network, normalized sender and recipient;
// auto-whitelisted clients; clients whitelisted by hand), the whitelist
// files in postgrey's formats, the S25R rules that pick the clients to
// tarpit, and the queries behind `mailwarden greylist`. The database is
// the truth, so several nodes sharing it agree; nothing is kept in
// process memory but the hand whitelist, reloaded from SQL every few
// seconds. It does not speak SMTP or the policy protocol: the SMTP
// server and `mailwarden policyd` call the check.
package greylist
