#!/usr/bin/env bash
# Inbound msgs/s with message authentication on, Mailwarden against Postfix
# + OpenDKIM (milter, verify mode) + policyd-spf, same load (bench/run.sh and
# bench/postfix.sh). The client (127.0.0.2, outside mynetworks, with a
# confirmed PTR name) sends N copies of one DKIM-signed (rsa-sha256,
# relaxed/relaxed) message from a domain that publishes SPF (-all), the DKIM
# key and DMARC p=reject, all served by a private DNS server (bench/dnsd):
# every message costs an SPF evaluation, a DKIM verification and, on
# Mailwarden, DMARC, ARC and DomainKeys checks and the
# Authentication-Results field.
#   bash bench/msgauth.sh [N] [C] [S]          # both sides
#   SIDES=mailwarden bash bench/msgauth.sh     # one side
set -euo pipefail
N=${1:-10000}; C=${2:-20}; S=${3:-5120}
root=$(cd "$(dirname "$0")/.." && pwd)
W=$(mktemp -d /tmp/mwauth.XXXXXX)
chmod 755 "$W"
dnspid=""; dkimpid=""
trap '[ -n "$dnspid" ] && kill $dnspid 2>/dev/null; [ -n "$dkimpid" ] && kill $dkimpid 2>/dev/null; [ -n "${KEEP:-}" ] || rm -rf "$W"' EXIT
for p in opendkim postfix-policyd-spf-python python3-dkim; do
  dpkg -s "$p" >/dev/null 2>&1 || { DEBIAN_FRONTEND=noninteractive apt-get install -y "$p" >/dev/null
    systemctl stop opendkim >/dev/null 2>&1 || true; }
done
go build -o "$W/dnsd" "$root/bench/dnsd"
go build -o "$W/mailwarden" "$root/cmd/mailwarden"
dns=127.0.53.$(( 2 + RANDOM % 250 ))
# The sender's key and one signed message of about S bytes.
openssl genrsa -out "$W/gen.key" 2048 2>/dev/null
pub=$(openssl rsa -in "$W/gen.key" -pubout -outform DER 2>/dev/null | base64 -w0)
/usr/bin/python3 - "$W/gen.key" "$S" > "$W/signed.eml" <<'PY'
import sys, dkim
key = open(sys.argv[1], "rb").read()
size = int(sys.argv[2])
head = (b"From: Load Generator <load@gen.test>\r\nTo: bench@bench.test\r\nSubject: signed load\r\n"
        b"Date: Thu, 03 Dec 2026 12:00:00 +0000\r\nMessage-ID: <signed-load@gen.test>\r\n"
        b"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n")
line = b"abcdefghijklmnopqrstuvwxyz0123456789" * 2 + b"\r\n"
body = line * max(1, (size - len(head)) // len(line))
msg = head + body
sig = dkim.sign(msg, b"s1", b"gen.test", key, canonicalize=(b"relaxed", b"relaxed"),
                include_headers=[b"from", b"to", b"subject", b"date", b"message-id"])
sys.stdout.buffer.write(sig + msg)
PY
cat > "$W/zone" <<ZONE
2.0.0.127.in-addr.arpa. 300 PTR mail.client.bench.
mail.client.bench. 300 A 127.0.0.2
gen.test. 300 MX 10 mail.client.bench.
gen.test. 300 TXT "v=spf1 ip4:127.0.0.2 -all"
s1._domainkey.gen.test. 300 TXT $(echo "v=DKIM1; k=rsa; p=$pub" | fold -w 200 | sed 's/.*/"&"/' | tr '\n' ' ')
_dmarc.gen.test. 300 TXT "v=DMARC1; p=reject"
bench.test. 300 MX 10 mail.client.bench.
ZONE
"$W/dnsd" -listen "$dns:53" -zone "$W/zone" & dnspid=$!
echo "nameserver $dns" > "$W/resolv.conf"
export LOADGEN_ARGS="-local 127.0.0.2 -message $W/signed.eml"
sides=${SIDES:-mailwarden postfix}
for side in $sides; do
  case $side in
  mailwarden)
    cat > "$W/mw-extra.toml" <<T
[smtp]
peername_lookup = true
[dns]
resolvers = ["$dns:53"]
[restrictions]
recipient = ["permit_mynetworks", "reject_unauth_destination", "check_spf", "permit"]
[spf]
# As policyd-spf, loopback clients are skipped by default; the benchmark's
# client is on loopback (the same is set for policyd-spf below).
skip_addresses = []
T
    MW_BIN="$W/mailwarden" MW_MYNETWORKS=127.0.0.1/32 MW_EXTRA_FILE="$W/mw-extra.toml" bash "$root/bench/run.sh" "$N" "$C" "$S"
    ;;
  postfix)
    # OpenDKIM verifies (Mode v) as a milter; policyd-spf runs from Postfix's spawn
    # and resolves through the private resolv.conf (PF_RESOLV).
    mport=$(( 20000 + RANDOM % 10000 ))
    cat > "$W/opendkim.conf" <<O
Mode v
Socket inet:$mport@127.0.0.1
AuthservID bench.local
TestDNSData file:$W/dkim-dns.txt
PidFile $W/opendkim.pid
Syslog no
Background no
UserID $(id -un)
O
    # OpenDKIM takes the key record from a file (TestDNSData): Debian's
    # build resolves with libunbound, which ignores servers on loopback and
    # names under test. (RFC 6761) unless configured to, and crashed
    # (SIGSEGV) under 20 concurrent connections when it was
    # (ResolverConfiguration); Mailwarden's key cache is warm after the
    # first message anyway.
    echo "s1._domainkey.gen.test v=DKIM1; k=rsa; p=$pub" > "$W/dkim-dns.txt"
    opendkim -x "$W/opendkim.conf" -f 2>"$W/opendkim.log" & dkimpid=$!
    cat > "$W/pf-extra.cf" <<P
mynetworks = 127.0.0.1/32
smtpd_peername_lookup = yes
disable_dns_lookups = no
smtpd_milters = inet:127.0.0.1:$mport
milter_default_action = tempfail
smtpd_recipient_restrictions = permit_mynetworks, reject_unauth_destination, check_policy_service unix:private/policyd-spf, permit
policyd-spf_time_limit = 3600
P
    # policyd-spf skips loopback clients by default (skip_addresses):
    # the benchmark's client is on loopback, so the list names another.
    printf 'debugLevel = 0\nTestOnly = 1\nHELO_reject = Fail\nMail_From_reject = Fail\nPermError_reject = False\nTempError_Defer = False\nskip_addresses = 192.0.2.255/32\n' > "$W/policyd-spf.conf"
    chmod 644 "$W/policyd-spf.conf"
    echo "policyd-spf unix - n n - 0 spawn user=nobody argv=/usr/bin/policyd-spf $W/policyd-spf.conf" > "$W/pf-master.cf"
    PF_EXTRA_FILE="$W/pf-extra.cf" PF_MASTER_EXTRA_FILE="$W/pf-master.cf" PF_RESOLV="$W/resolv.conf" \
      bash "$root/bench/postfix.sh" "$N" "$C" "$S"
    kill $dkimpid 2>/dev/null; wait $dkimpid 2>/dev/null || true; dkimpid=""
    ;;
  esac
done
