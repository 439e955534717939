// Package mlog writes the mail log: one line per event in Postfix's and
// Dovecot's wording ("Dec  3 07:52:15 mx mailwarden/smtpd[123]: 4F2A...:
// client=host[1.2.3.4]"), the format pflogsumm and fail2ban read. Writer
// is an event.Subscriber with three sinks (a file reopened on SIGHUP,
// standard error, syslog); Handler bridges log/slog call sites onto the
// event bus as free-text notes. It does not decide what to log.
package mlog
