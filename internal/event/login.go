package event

import "net/netip"

// Login is a successful IMAP or POP3 login, as Dovecot logs it:
// "imap-login: Login: user=<u>, method=PLAIN, rip=1.2.3.4, lip=5.6.7.8,
// mpid=123, TLS".
type Login struct {
	Program  Program // IMAPLogin or POP3Login
	User     string
	Method   string
	RIP, LIP netip.Addr
	TLS      bool
}

// LoginDisconnect is the end of an IMAP or POP3 session that did not log
// in: "imap-login: Disconnected: Logged out (auth failed, 2 attempts in 4
// secs): user=<u>, method=PLAIN, rip=1.2.3.4, lip=5.6.7.8, TLS" (the line
// fail2ban's dovecot filter matches).
type LoginDisconnect struct {
	Program  Program // IMAPLogin or POP3Login
	Reason   string  // "Logged out", "Inactivity", "Too many invalid authentication attempts"; "" prints "Disconnected (...)"
	Failures int     // failed authentication attempts
	Refused  bool    // plaintext auth was refused (no TLS)
	Duration int     // seconds since connect
	User     string  // the last user name tried; "" leaves user= and method= out
	Method   string
	RIP, LIP netip.Addr
	TLS      bool
}

// Logout is the end of a logged-in IMAP or POP3 session: "imap(u): Logged
// out in=120 out=4200" or "pop3(u): Disconnected: Inactivity top=0/0, ...".
type Logout struct {
	Program Program // IMAP or POP3
	User    string
	Reason  string // "Logged out" prints as such; others as "Disconnected: Reason"
	Stats   string // "in=120 out=4200", "top=0/0, retr=1/1024, del=0/1, size=1024"
}
