#!/usr/bin/env bash
# The same inbound job as bench/run.sh (N messages of S bytes over C
# connections into u0..u9@bench.test, stored as Maildir), done by a private,
# throw-away Postfix instance, for a side-by-side comparison.
#   bash bench/postfix.sh [N] [C] [S]
#   PF_EXTRA_FILE=more.cf PF_RESOLV=resolv.conf bash bench/postfix.sh ...  # bench/lists.sh
#   PF_MASTER_EXTRA_FILE=more-master.cf LOADGEN_ARGS="-local 127.0.0.2 -message F" ...  # bench/msgauth.sh
# Prints the loadgen line (Postfix replies 250 once the message is queued),
# the wall time until all N are in the Maildirs (delivery is asynchronous)
# and the peak memory summed over the instance's processes.
#
# Durability is the same on both sides; nothing is turned off here:
#  - Mailwarden, before its 250: fsync of the queue file + its directory and a
#    SQLite commit; at delivery: fsync of the Maildir file + new/ and a commit.
#  - Postfix: cleanup(8) fsyncs the queue file before smtpd sends 250 (there is
#    no knob to disable that); virtual(8) fsyncs each Maildir file in tmp/
#    before linking it into new/ (mail_copy with MAIL_COPY_TOFILE). Postfix
#    fsyncs no directories (strace: exactly 1 fsync per message on each side).
# Postfix defaults kept on purpose: in_flow_delay=1s (smtpd slows down when the
# queue manager falls behind) and a concurrency of 20 (slow start from 5)
# for virtual deliveries to bench.test.
set -euo pipefail
N=${1:-10000}; C=${2:-20}; S=${3:-5120}
root=$(cd "$(dirname "$0")/.." && pwd)

# 1. Install Postfix if needed. The package's default instance (port 25, all
# interfaces) is irrelevant to ours; if the install started it, stop it.
if ! command -v postfix >/dev/null || [ ! -x /usr/lib/postfix/sbin/master ]; then
  while pgrep -x apt-get >/dev/null || pgrep -x dpkg >/dev/null; do sleep 2; done
  DEBIAN_FRONTEND=noninteractive apt-get install -y postfix >/dev/null
  postfix status >/dev/null 2>&1 && postfix stop >/dev/null 2>&1 || true
fi

# 2. A private instance under a temp dir, removed (and stopped) on exit.
W=$(mktemp -d /tmp/pfbench.XXXXXX)
chmod 755 "$W"            # virtual(8) runs as nobody and must reach mail/
pids=""; sampler=""
cleanup() {
  [ -n "$sampler" ] && { kill "$sampler" 2>/dev/null; wait "$sampler" 2>/dev/null; } || true
  if [ -s "$W/queue/pid/master.pid" ]; then
    m=$(awk '{print $1; exit}' "$W/queue/pid/master.pid")
    pids="$m $(pgrep -P "$m" | tr '\n' ' ')"     # master and its children
    postfix -c "$W/etc" stop >/dev/null 2>&1 || true
    for _ in $(seq 100); do ps -p "$(echo $pids | tr ' ' ,)" >/dev/null || break; sleep 0.1; done
    for p in $pids; do kill -9 "$p" 2>/dev/null || true; done
  fi
  [ -n "${KEEP:-}" ] && echo "kept $W" >&2 || rm -rf "$W"
}
trap cleanup EXIT
trap "exit 1" INT TERM HUP
go build -o "$W/loadgen" "$root/bench/loadgen"
mkdir -p "$W/etc" "$W/queue" "$W/data" "$W/mail"
chown postfix:postfix "$W/data"        # data_directory belongs to mail_owner
chown nobody:nogroup "$W/mail"         # virtual_mailbox_base, written as nobody
while :; do   # a free high port
  port=$(( 20000 + RANDOM % 20000 ))
  (: > /dev/tcp/127.0.0.1/$port) 2>/dev/null || break
done
for i in $(seq 0 9); do echo "u$i@bench.test bench.test/u$i/"; done > "$W/etc/vmailbox"
cat > "$W/etc/main.cf" <<CONF
compatibility_level = 3.6
queue_directory = $W/queue
data_directory = $W/data
myhostname = bench.local
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
alias_maps =
alias_database =
biff = no
smtpd_peername_lookup = no
# Virtual mailboxes: a trailing slash in the map means Maildir.
virtual_mailbox_domains = bench.test
virtual_mailbox_maps = texthash:$W/etc/vmailbox
virtual_mailbox_base = $W/mail
virtual_uid_maps = static:65534
virtual_gid_maps = static:65534
# Room for C connections; no per-client throttling of loopback.
default_process_limit = 200
smtpd_client_connection_count_limit = 0
smtpd_client_connection_rate_limit = 0
smtpd_client_message_rate_limit = 0
smtpd_client_recipient_rate_limit = 0
smtpd_client_event_limit_exceptions = \$mynetworks
maillog_file = $W/maillog
maillog_file_prefixes = $W
CONF
if [ -n "${PF_EXTRA_FILE:-}" ]; then cat "$PF_EXTRA_FILE" >> "$W/etc/main.cf"; fi
# No chroot anywhere (5th column "n"); smtpd on our own port only.
cat > "$W/etc/master.cf" <<CONF
127.0.0.1:$port inet n - n - - smtpd
cleanup   unix n - n - 0 cleanup
qmgr      unix n - n 300 1 qmgr
rewrite   unix - - n - - trivial-rewrite
bounce    unix - - n - 0 bounce
defer     unix - - n - 0 bounce
trace     unix - - n - 0 bounce
verify    unix - - n - 1 verify
flush     unix n - n 1000? 0 flush
proxymap  unix - - n - - proxymap
proxywrite unix - - n - 1 proxymap
showq     unix n - n - - showq
error     unix - - n - - error
retry     unix - - n - - error
discard   unix - - n - - discard
anvil     unix - - n - 1 anvil
scache    unix - - n - 1 scache
postlog   unix-dgram n - n - 1 postlogd
smtp      unix - - n - - smtp
virtual   unix - n n - - virtual
CONF
if [ -n "${PF_MASTER_EXTRA_FILE:-}" ]; then cat "$PF_MASTER_EXTRA_FILE" >> "$W/etc/master.cf"; fi
pf() { postfix -c "$W/etc" "$@"; }
pf check                     # creates the queue subdirs with the right owners
if [ -n "${PF_RESOLV:-}" ]; then
  # A private mount namespace whose /etc/resolv.conf names the benchmark's
  # DNS server and whose /etc/hosts is empty (else 127.0.0.1 is
  # "localhost" from the file): the master and every daemon it forks
  # resolve through DNS only; the machine's own files are untouched.
  : > "$W/hosts"
  unshare --mount --propagation private sh -c 'mount --bind "$1" /etc/resolv.conf && mount --bind "$2" /etc/hosts && exec postfix -c "$3" start' \
    sh "$PF_RESOLV" "$W/hosts" "$W/etc" 2>/dev/null
else
  pf start 2>/dev/null
fi
for _ in $(seq 100); do (: > /dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.1; done
master=$(awk '{print $1; exit}' "$W/queue/pid/master.pid")

# Peak memory of master + all its children, sampled every 0.2 s: the sum of
# RSS (counts shared libraries once per process) and of PSS (shares them).
sample() {
  local f=() p
  for p in $master $(pgrep -P "$master"); do f+=("/proc/$p/comm" "/proc/$p/smaps_rollup"); done
  cat "${f[@]}" 2>/dev/null | awk 'NF==1 {c=$1} $1=="Rss:" {r+=$2; k++; n[c]++} $1=="Pss:" {p+=$2}
    END {printf "%d %d procs=%d", r, p, k; for (c in n) printf " %s:%d", c, n[c]; print ""}'
}
( peak=0
  while :; do
    read -r rss pss rest <<< "$(sample)"
    if [ "${rss:-0}" -gt "$peak" ]; then peak=$rss; echo "$rss $pss $rest" > "$W/peak"; fi
    sleep 0.2
  done ) &
sampler=$!

# 3. Same load as bench/run.sh, then wait for the Maildirs to hold all N.
echo "# $(date -u +%F) postfix $(postconf -h mail_version) ($(git -C "$root" rev-parse --short HEAD 2>/dev/null) loadgen): N=$N C=$C S=$S"
t0=$(date +%s.%N)
"$W/loadgen" -addr "127.0.0.1:$port" -n "$N" -c "$C" -size "$S" -rcpt 'u%d@bench.test' -mailboxes 10 ${LOADGEN_ARGS:-}
count() { find "$W/mail/bench.test" -path '*/new/*' -type f 2>/dev/null | wc -l; }
queued() { find "$W/queue/"{maildrop,incoming,active,deferred,hold} -type f | wc -l; }
deadline=$(( $(date +%s) + 600 ))
until [ "$(count)" -ge "$N" ] && [ "$(queued)" -eq 0 ]; do
  if [ "$(date +%s)" -gt "$deadline" ] || [ -n "$(ls -A "$W/queue/deferred")" ]; then
    echo "delivery incomplete: $(count)/$N in Maildir, $(queued) queued" >&2
    grep -E 'warning|error|fatal|panic|status=(deferred|bounced)' "$W/maillog" | tail -5 >&2
    exit 1
  fi
  sleep 0.1
done
t1=$(date +%s.%N)
kill "$sampler"; wait "$sampler" 2>/dev/null || true; sampler=""
echo "delivered_files=$(count) all_delivered_after=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.2fs rate=%.0f msgs/s", b-a, '"$N"'/(b-a)}')"
read -r rss pss rest < "$W/peak"
echo "first_client=$(grep -m1 -o "connect from [^ ]*" "$W/maillog" || true)"
# What the checks wrote into a delivered message (bench/msgauth.sh).
f=$(find "$W/mail/bench.test" -path '*/new/*' -type f -print -quit)
grep -E '^(Authentication-Results|Received-SPF|[[:space:]])' "$f" | head -8 | sed 's/^/header: /' || true
echo "peak_rss_sum=$((rss / 1024)) MB peak_pss_sum=$((pss / 1024)) MB ($rest)"
