// Package aliases reads aliases(5) files (/etc/aliases) and expands the
// local names of system accounts — root, postmaster, MAILER-DAEMON,
// abuse — to mail addresses, as Postfix's alias_maps does for the local
// domain. It only maps names to addresses: commands (|cmd), files and
// :include: are reported and skipped, and it does not decide which
// domains are local (the caller does).
package aliases
