// Package pickup is local mail submission, as Postfix's postdrop and
// pickup: `mailwarden sendmail` hands a message to the running server
// over a unix socket (data_dir/run/submit.sock), and drops it into the
// maildrop directory (data_dir/maildrop) when the server is not running;
// the server picks the directory up at start, on a timer and when the
// kernel says a file became ready.
//
// Both paths speak SMTP to the server's Pickup-mode smtpserver.Server, so
// a local message gets every check and the delivery path a network client
// gets. The server trusts only what the kernel says of the sender: the
// socket peer's uid (SO_PEERCRED) or the maildrop file's owner (fstat),
// given to the session through PeerUID; never the content of a file.
//
// It owns the paths and permissions of the socket and the maildrop, the
// maildrop file format, a minimal SMTP client for one local transaction
// and the picker. It does not deliver or check mail itself.
package pickup
