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
for tool in swaks doveadm mkpasswd mbsync offlineimap msmtp gsasl fail2ban-regex promtool lintian; do
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
# ip (iproute2): the tests that bind real ports (25, 587 ...) do it in a
# network namespace of their own and bring its loopback up with it.
command -v ip >/dev/null 2>&1 || [ -x /usr/sbin/ip ] || [ -x /sbin/ip ] || missing+=(iproute2)
# Dovecot's LMTP server: a transport-map next hop.
[ -x /usr/lib/dovecot/lmtp ] || missing+=(dovecot-lmtpd)
# Dovecot's IMAP server: the reference IMAP answers are compared with.
[ -x /usr/lib/dovecot/imap ] || missing+=(dovecot-imapd)
# Python's RFC 8601 parser: Authentication-Results are parsed back with it.
[ -e /usr/lib/python3/dist-packages/authres ] || missing+=(python3-authres)
# dkimpy (ARC seals both ways) and Mail::DKIM (DomainKeys both ways).
[ -e /usr/lib/python3/dist-packages/dkim ] || missing+=(python3-dkim)
[ -e /usr/share/perl5/Mail/DKIM/DkSignature.pm ] || missing+=(libmail-dkim-perl)
# xmllint validates DMARC aggregate reports against the RFC 7489 schema.
command -v xmllint >/dev/null 2>&1 || missing+=(libxml2-utils)
# policyd-spf (postfix-policyd-spf-python): the SPF comparison test.
[ -x /usr/bin/policyd-spf ] || missing+=(postfix-policyd-spf-python)
# OpenDKIM (the filter's test mode, in /usr/sbin) and opendkim-testmsg:
# the DKIM reference both ways.
[ -x /usr/sbin/opendkim ] || missing+=(opendkim)
[ -x /usr/sbin/opendkim-testmsg ] || missing+=(opendkim-tools)
# neomutt in tmux: a person's mail client lists and opens a shared folder.
command -v neomutt >/dev/null 2>&1 || missing+=(neomutt)
command -v tmux >/dev/null 2>&1 || missing+=(tmux)
if [ ${#missing[@]} -gt 0 ]; then
	echo "test.sh: missing ${missing[*]}; installing Debian packages" >&2
	sudo=()
	if [ "$(id -u)" -ne 0 ]; then
		if ! command -v sudo >/dev/null 2>&1; then
			echo "test.sh: not root and no sudo: install swaks dovecot-core dovecot-lmtpd dovecot-imapd whois python3 isync offlineimap3 postfix postfix-pcre postfix-sqlite postfix-pgsql postfix-mysql postgresql mariadb-server msmtp gsasl pflogsumm fail2ban prometheus postgrey iproute2 python3-authres lintian python3-dkim libmail-dkim-perl libxml2-utils postfix-policyd-spf-python opendkim opendkim-tools neomutt tmux with apt-get" >&2
			exit 1
		fi
		sudo=(sudo)
	fi
	${sudo[@]+"${sudo[@]}"} apt-get update
	${sudo[@]+"${sudo[@]}"} env DEBIAN_FRONTEND=noninteractive apt-get install -y swaks dovecot-core dovecot-lmtpd dovecot-imapd whois python3 isync offlineimap3 postfix postfix-pcre postfix-sqlite postfix-pgsql postfix-mysql postgresql mariadb-server msmtp gsasl pflogsumm fail2ban prometheus postgrey iproute2 python3-authres lintian python3-dkim libmail-dkim-perl libxml2-utils postfix-policyd-spf-python opendkim opendkim-tools neomutt tmux
	# The packages' services this run just installed (and so started) are
	# not wanted: the tests run private Postfix, postgrey, PostgreSQL and
	# MariaDB instances on loopback ports and only run fail2ban-regex and
	# promtool. A service that was installed before this run is the
	# machine's (a live Postfix being migrated) and is left alone.
	stop_new() { # stop_new SERVICE: stop it when this run installed it
		${sudo[@]+"${sudo[@]}"} systemctl stop "$1" >/dev/null 2>&1 || ${sudo[@]+"${sudo[@]}"} service "$1" stop >/dev/null 2>&1 || true
	}
	for m in "${missing[@]}"; do
		case "$m" in
		postfix) stop_new postfix ;;
		postgrey) stop_new postgrey ;;
		opendkim) stop_new opendkim ;;
		postgresql) stop_new postgresql ;;
		mariadb-server) stop_new mariadb ;;
		fail2ban-regex) stop_new fail2ban; ${sudo[@]+"${sudo[@]}"} fail2ban-client stop >/dev/null 2>&1 || true ;;
		promtool) stop_new prometheus; stop_new prometheus-node-exporter ;;
		esac
	done
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
# A bound for a hung test, not a target: the e2e package takes ~6 min on a
# quiet machine and over 15 on a loaded one.
flags=(-count=1 -timeout 30m)
if [ "${RACE:-0}" = 1 ]; then
	flags+=(-race)
	export MAILWARDEN_E2E_RACE=1
fi
go test "${flags[@]}" ./...
