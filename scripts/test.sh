#!/usr/bin/env bash
# The test command (README, CI): installs the real peer programs the tests
# drive when they are missing, then checks formatting, vets, and runs every
# test, end-to-end ones included (test/e2e builds the binary itself).
#
#   scripts/test.sh            # from any directory
#   RACE=1 scripts/test.sh     # race detector, also in the server under e2e (slower)
#   CI=true scripts/test.sh    # a missing peer fails instead of skipping
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

missing=()
for tool in swaks doveadm mkpasswd mbsync offlineimap msmtp gsasl fail2ban-regex promtool; do
	command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
# Debian's interpreter: its python3-* packages do not work with another one.
[ -x /usr/bin/python3 ] || missing+=(/usr/bin/python3)
# Postfix (a relayhost peer) lives in /usr/sbin, not on every PATH.
command -v postfix >/dev/null 2>&1 || [ -x /usr/sbin/postfix ] || missing+=(postfix)
# Postfix's pcre: tables (compared with Mailwarden's by postmap -q).
[ -e /usr/lib/postfix/postfix-pcre.so ] || missing+=(postfix-pcre)
# Postfix's sql tables and the database servers behind them (private
# instances the tests start in temp dirs).
for m in sqlite pgsql mysql; do [ -e /usr/lib/postfix/postfix-$m.so ] || missing+=(postfix-$m); done
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
command -v mariadb-install-db >/dev/null 2>&1 || missing+=(mariadb-server)
# pflogsumm (the mail log report) lives in /usr/sbin too.
command -v pflogsumm >/dev/null 2>&1 || [ -x /usr/sbin/pflogsumm ] || missing+=(pflogsumm)
# postgrey (in /usr/sbin): the greylisting reference, run privately.
command -v postgrey >/dev/null 2>&1 || [ -x /usr/sbin/postgrey ] || missing+=(postgrey)
# Dovecot's LMTP server: a transport-map next hop.
[ -x /usr/lib/dovecot/lmtp ] || missing+=(dovecot-lmtpd)
# Dovecot's IMAP server: the reference IMAP answers are compared with.
[ -x /usr/lib/dovecot/imap ] || missing+=(dovecot-imapd)
if [ ${#missing[@]} -gt 0 ]; then
	echo "test.sh: missing ${missing[*]}; installing Debian packages" >&2
	sudo=()
	if [ "$(id -u)" -ne 0 ]; then
		if ! command -v sudo >/dev/null 2>&1; then
			echo "test.sh: not root and no sudo: install swaks dovecot-core dovecot-lmtpd dovecot-imapd whois python3 isync offlineimap3 postfix postfix-pcre postfix-sqlite postfix-pgsql postfix-mysql postgresql mariadb-server msmtp gsasl pflogsumm fail2ban prometheus postgrey with apt-get" >&2
			exit 1
		fi
		sudo=(sudo)
	fi
	${sudo[@]+"${sudo[@]}"} apt-get update
	${sudo[@]+"${sudo[@]}"} env DEBIAN_FRONTEND=noninteractive apt-get install -y swaks dovecot-core dovecot-lmtpd dovecot-imapd whois python3 isync offlineimap3 postfix postfix-pcre postfix-sqlite postfix-pgsql postfix-mysql postgresql mariadb-server msmtp gsasl pflogsumm fail2ban prometheus postgrey
	# The tests run private Postfix instances on random loopback ports; the
	# package's default instance (port 25, all interfaces) is not wanted.
	if ${sudo[@]+"${sudo[@]}"} /usr/sbin/postfix status >/dev/null 2>&1; then
		${sudo[@]+"${sudo[@]}"} /usr/sbin/postfix stop >/dev/null 2>&1 || true
	fi
	# Only fail2ban-regex, promtool and a private postgrey are used: the
	# services the packages start (a fail2ban server, a Prometheus server and
	# node exporter, postgrey on port 10023) are not.
	for svc in fail2ban prometheus prometheus-node-exporter postgrey; do
		${sudo[@]+"${sudo[@]}"} systemctl stop "$svc" >/dev/null 2>&1 || ${sudo[@]+"${sudo[@]}"} service "$svc" stop >/dev/null 2>&1 || true
	done
	${sudo[@]+"${sudo[@]}"} fail2ban-client stop >/dev/null 2>&1 || true
fi

echo "== gofmt" >&2
unformatted=$(gofmt -l .)
if [ -n "$unformatted" ]; then
	echo "test.sh: not gofmt'ed (run gofmt -w):" >&2
	echo "$unformatted" >&2
	exit 1
fi

echo "== go vet" >&2
go vet ./...

echo "== go test" >&2
flags=(-count=1 -timeout 15m)
if [ "${RACE:-0}" = 1 ]; then
	flags+=(-race)
	export MAILWARDEN_E2E_RACE=1
fi
go test "${flags[@]}" ./...
