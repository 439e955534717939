// Package mlog writes the mail log: one line per event in Postfix style
// ("2026-11-23T10:00:00Z mx mailwarden/smtpd[123]: 4F2A...: from=<a@b>, size=812, nrcpt=1").
// It is a log/slog handler: components log with slog and a "component"
// attribute; the message is the Postfix-style text, other attributes follow
// as key=value. It does not decide what to log.
package mlog
