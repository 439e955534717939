#!/usr/bin/env bash
# Builds the Debian package with dpkg-deb: the binary, a systemd unit,
# /etc/mailwarden/mailwarden.toml (a conffile), logrotate and fail2ban
# snippets, the docs, and maintainer scripts that create the mailwarden
# system user and its directories.
#
#   scripts/build-deb.sh                 # dist/mailwarden_<version>_<arch>.deb
#   scripts/build-deb.sh -o DIR -v 1.2.3 -m "Name <you@example.com>"
#
# -m is the Maintainer (else $DEBFULLNAME <$DEBEMAIL> when DEBEMAIL is
# set, else the project's address). The package passes lintian's
# errors; deliberate departures are overridden in
# /usr/share/lintian/overrides/mailwarden with the reason.
#
# The version is -v, else the latest v* tag (git describe), else
# 0.0.0~git<date>.<commit>. The binary reports it with the commit
# (mailwarden version).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

out=dist
version=
maintainer=
while getopts "o:v:m:" opt; do
	case $opt in
	o) out=$OPTARG ;;
	v) version=$OPTARG ;;
	m) maintainer=$OPTARG ;;
	*) echo "usage: $0 [-o OUTDIR] [-v VERSION] [-m 'NAME <EMAIL>']" >&2; exit 2 ;;
	esac
done
if [ -z "$maintainer" ] && [ -n "${DEBEMAIL:-}" ]; then
	maintainer="${DEBFULLNAME:-Mailwarden packager} <$DEBEMAIL>"
fi
# A placeholder: a real build names its packager with -m or DEBEMAIL.
maintainer=${maintainer:-Mailwarden developers <mailwarden@example.org>}
commit=$(git rev-parse HEAD 2>/dev/null || echo unknown)
if [ -z "$version" ]; then
	version=$(git describe --tags --match 'v[0-9]*' 2>/dev/null | sed 's/^v//; s/-/+/g' || true)
fi
if [ -z "$version" ]; then
	version="0.0.0~git$(date -u +%Y%m%d).${commit:0:12}"
fi
arch=$(dpkg --print-architecture)

root=$(mktemp -d)
chmod 0755 "$root"
trap 'rm -rf "$root"' EXIT
install -d "$root/DEBIAN" "$root/usr/sbin" "$root/lib/systemd/system" "$root/etc/mailwarden" \
	"$root/etc/logrotate.d" "$root/etc/fail2ban/jail.d" "$root/usr/share/doc/mailwarden" \
	"$root/usr/share/lintian/overrides"

CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=$version -X main.commit=$commit" \
	-o "$root/usr/sbin/mailwarden" ./cmd/mailwarden
# The manual page: the command list the binary prints (mailwarden help),
# in man(7) form, pointing at the docs.
install -d "$root/usr/share/man/man8"
{
	printf '.TH MAILWARDEN 8 "%s" "mailwarden %s" "System Manager'"'"'s Manual"\n' \
		"$(date -u ${SOURCE_DATE_EPOCH:+-d @$SOURCE_DATE_EPOCH} +%Y-%m-%d)" "$version"
	cat <<'MAN'
.SH NAME
mailwarden \- mail server: SMTP, submission, IMAP and POP3 in one program
.SH SYNOPSIS
.B mailwarden
[\fB\-config\fR \fIPATH\fR] \fICOMMAND\fR [\fIARGS\fR]
.SH DESCRIPTION
Mailwarden does the work of Postfix, Dovecot and postfixadmin in one
program with one configuration file and one data directory.
\fBmailwarden serve\fR runs the server; the other commands administer
it. \fBmailwarden\fR \fICOMMAND\fR \fB\-h\fR prints the usage of one
command.
.SH COMMANDS
.nf
MAN
	"$root/usr/sbin/mailwarden" help | sed -n '/^commands:/,/^$/{/^commands:/d;/^$/d;p}' |
		sed 's/\\/\\e/g; s/^\([.'"'"']\)/\\\&\1/'
	cat <<'MAN'
.fi
.SH FILES
.TP
.I /etc/mailwarden/mailwarden.toml
the configuration (else \fB\-config\fR, else \fB$MAILWARDEN_CONFIG\fR)
.TP
.I /var/lib/mailwarden
the data directory: database, Maildirs, queue, pid file, control socket
.SH SEE ALSO
The documentation in
.IR /usr/share/doc/mailwarden/ :
config.md (every setting), operations.md (running it),
migrate\-postfix.md and migrate\-dovecot.md.
MAN
} > "$root/usr/share/man/man8/mailwarden.8"
gzip -9n "$root/usr/share/man/man8/mailwarden.8"
install -m 0644 packaging/mailwarden.service "$root/lib/systemd/system/mailwarden.service"
install -m 0640 packaging/mailwarden.toml "$root/etc/mailwarden/mailwarden.toml"
install -m 0644 packaging/logrotate "$root/etc/logrotate.d/mailwarden"
install -m 0644 packaging/fail2ban-jail.conf "$root/etc/fail2ban/jail.d/mailwarden.conf"
install -m 0644 README.md docs/*.md "$root/usr/share/doc/mailwarden/"
cat > "$root/usr/share/doc/mailwarden/copyright" <<COPYRIGHT
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: mailwarden
Source: the mailwarden repository, commit $commit
COPYRIGHT
# A native package's changelog (Debian policy 12.7), one entry per build.
cat > "$root/usr/share/doc/mailwarden/changelog" <<CHANGELOG
mailwarden ($version) unstable; urgency=medium

  * Built from commit $commit.

 -- $maintainer  $(date -u -R ${SOURCE_DATE_EPOCH:+-d @$SOURCE_DATE_EPOCH})
CHANGELOG
gzip -9n "$root/usr/share/doc/mailwarden/changelog"
cat > "$root/usr/share/lintian/overrides/mailwarden" <<'OVERRIDES'
# Go links its programs statically; there is no C library to share.
mailwarden: statically-linked-binary [usr/sbin/mailwarden]
# The config may hold secrets (database and relay passwords): root writes
# it, group mailwarden reads it (postinst sets root:mailwarden 0640).
mailwarden: non-standard-file-perm 0640 != 0644 [etc/mailwarden/mailwarden.toml]
# postinst honours DPKG_ROOT (dpkg --instdir with --force-script-chrootless:
# an install into another root), where
# getent would answer from the running system's files, not the root's.
mailwarden: maintainer-script-should-not-parse-etc-passwd-or-group *
OVERRIDES
chmod 0644 "$root/usr/share/lintian/overrides/mailwarden"
for s in postinst prerm postrm; do
	install -m 0755 "packaging/debian/$s" "$root/DEBIAN/$s"
done
cat > "$root/DEBIAN/conffiles" <<'CONFFILES'
/etc/mailwarden/mailwarden.toml
/etc/logrotate.d/mailwarden
/etc/fail2ban/jail.d/mailwarden.conf
CONFFILES
size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
cat > "$root/DEBIAN/control" <<CONTROL
Package: mailwarden
Version: $version
Architecture: $arch
Maintainer: $maintainer
Installed-Size: $size
Depends: adduser
Suggests: fail2ban, logrotate, ssl-cert
Section: mail
Priority: optional
Homepage: https://example.invalid/mailwarden
Description: mail server: SMTP, submission, IMAP, POP3 in one program
 Mailwarden does the work of Postfix, Dovecot and postfixadmin in one
 binary with one config file and one data directory, with the names
 and concepts of those programs. This package runs it as the
 mailwarden system user under systemd.
CONTROL

mkdir -p "$out"
deb="$out/mailwarden_${version}_${arch}.deb"
dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" >/dev/null
echo "$deb"
