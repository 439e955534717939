// Package daemon owns the running server's presence in its data
// directory: the lock (a pid file held with flock, so a second server
// refuses to start and a crashed one leaves nothing to clean), and the
// control socket `mailwarden status` asks for the server's state. It does
// not start or stop anything itself; cmd/mailwarden wires it.
package daemon
