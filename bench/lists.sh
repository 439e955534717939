#!/usr/bin/env bash
# Inbound msgs/s with the classic taRgrey restriction lists on (issue 9's
# example: a client cidr table, HELO syntax, reject_unknown_sender_domain, a
# sender hash table, reject_rbl_client, the S25R regexp table and a policy
# service), Mailwarden against Postfix, same load (bench/run.sh and
# bench/postfix.sh). Both resolve through a private DNS server (bench/dnsd)
# holding the client's PTR name (not S25R-like, so the regexp table lets it
# through as taRgrey's permit_client_nots25r does), the sender's domain and
# an empty DNSBL zone: every RCPT costs a DNSBL query (cached by Mailwarden
# for the TTL, per session by Postfix) and the table lookups.
#   bash bench/lists.sh [N] [C] [S]          # both sides
#   SIDES=mailwarden bash bench/lists.sh     # one side
set -euo pipefail
N=${1:-10000}; C=${2:-20}; S=${3:-5120}
root=$(cd "$(dirname "$0")/.." && pwd)
W=$(mktemp -d /tmp/mwlists.XXXXXX)
chmod 755 "$W"
dnspid=""; policypid=""
trap '[ -n "$dnspid" ] && kill $dnspid 2>/dev/null; [ -n "$policypid" ] && kill $policypid 2>/dev/null; rm -rf "$W"' EXIT
go build -o "$W/dnsd" "$root/bench/dnsd"
go build -o "$W/mailwarden" "$root/cmd/mailwarden"
dns=127.0.53.$(( 2 + RANDOM % 250 ))
cat > "$W/zone" <<ZONE
1.0.0.127.in-addr.arpa. 300 PTR mail.client.bench.
mail.client.bench. 300 A 127.0.0.1
gen.test. 300 MX 10 mail.client.bench.
bench.test. 300 MX 10 mail.client.bench.
2.0.0.127.zen.example. 300 A 127.0.0.2
ZONE
"$W/dnsd" -listen "$dns:53" -zone "$W/zone" & dnspid=$!
echo "nameserver $dns" > "$W/resolv.conf"
# The tables: taRgrey's S25R table (the published patterns; a client that
# matches none is permitted), a cidr and a hash table with a few entries.
cat > "$W/permit_client_nots25r" <<'TAB'
/^unknown$/                                         DUNNO
/^[^.]*[0-9][^0-9.]+[0-9].*\./                      DUNNO
/^[^.]*[0-9]{5}/                                    DUNNO
/^([^.]+\.)?[0-9][^.]*\.[^.]+\..+\.[a-z]/           DUNNO
/^[^.]*[0-9]\.[^.]*[0-9]-[0-9]/                     DUNNO
/^[^.]*[0-9]\.[^.]*[0-9]\.[^.]+\..+\./              DUNNO
/^(dhcp|dialup|ppp|[achrsvx]?dsl)[^.]*[0-9]/        DUNNO
/./                                                 OK
TAB
printf '192.0.2.0/24 REJECT\n198.51.100.7 REJECT no\n' > "$W/clients.cidr"
printf 'spammer@bad.example REJECT\nbad.example REJECT\n' > "$W/senders"
postmap "$W/senders"   # Postfix reads senders.db; Mailwarden the text
lists() { # $1: the policy restriction
  cat <<L
client = ["permit_mynetworks", "check_client_access cidr:$W/clients.cidr", "permit"]
helo = ["permit_sasl_authenticated", "permit_mynetworks", "reject_invalid_helo_hostname", "permit"]
sender = ["reject_non_fqdn_sender", "reject_unknown_sender_domain", "check_sender_access hash:$W/senders"]
relay = ["permit_mynetworks", "permit_sasl_authenticated", "reject_unauth_destination"]
recipient = ["reject_unauth_destination", "reject_rbl_client zen.example", "check_client_access regexp:$W/permit_client_nots25r", "$1", "permit"]
data = ["reject_unauth_pipelining", "permit"]
L
}
policy=$(( 20000 + RANDOM % 10000 ))
cat > "$W/mw-extra.toml" <<T
[smtp]
peername_lookup = true
[dns]
resolvers = ["$dns:53"]
[restrictions]
$(lists check_greylist)
helo_required = true
delay_reject = true
T
pfl() { lists "check_policy_service inet:127.0.0.1:$policy" | sed -E 's/^([a-z_]+) = \[(.*)\]$/smtpd_\1_restrictions = \2/; s/"//g'; }
{ pfl; echo "smtpd_helo_required = yes"; echo "smtpd_delay_reject = yes"; echo "smtpd_peername_lookup = yes"
  echo "disable_dns_lookups = no"; } > "$W/pf-extra.cf"
sides=${SIDES:-mailwarden postfix}
for side in $sides; do
  case $side in
  mailwarden) MW_BIN="$W/mailwarden" MW_EXTRA_FILE="$W/mw-extra.toml" bash "$root/bench/run.sh" "$N" "$C" "$S" ;;
  postfix)
    # Postfix asks Mailwarden's policy server (the taRgrey service) over
    # the policy protocol; the permitted client never reaches it.
    cat > "$W/policyd.toml" <<T
hostname = "bench.local"
data_dir = "$W/policyd-data"
T
    "$W/mailwarden" -config "$W/policyd.toml" policyd --listen "127.0.0.1:$policy" --targrey 2>"$W/policyd.log" & policypid=$!
    PF_EXTRA_FILE="$W/pf-extra.cf" PF_RESOLV="$W/resolv.conf" bash "$root/bench/postfix.sh" "$N" "$C" "$S" ;;
  esac
done
