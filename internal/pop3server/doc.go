// Package pop3server serves POP3 (RFC 1939) on top of the mailbox store:
// CAPA and response codes (RFC 2449, RFC 3206), STLS (RFC 2595), AUTH
// PLAIN (RFC 5034) and USER/PASS, on port 110 with STLS or on 995 with
// implicit TLS. Like Dovecot's pop3 it shows INBOX only, as a list fixed at
// login; deletions take effect at QUIT, retrieved messages are then marked
// \Seen, and UIDLs are Dovecot's default %08Xu%08Xv so clients that switch
// from Dovecot do not download everything again. It checks passwords
// through auth/login, enforces connection limits and timeouts, allows one
// POP3 session per mailbox at a time ([IN-USE]) and logs Dovecot-style
// lines. It reads mail through the small Mailstore interface and keeps no
// state beyond live sessions.
package pop3server
