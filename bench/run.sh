#!/usr/bin/env bash
# Inbound SMTP benchmark: N messages of S bytes over C connections into 10
# local mailboxes, full durability (fsync). Prints the loadgen line and the
# server's peak RSS and CPU time per message.
#   bash bench/run.sh [N] [C] [S]
#   PER_CONN=1 bash bench/run.sh ...     # one connection per message (default 100)
#   MW_BIN=/path/mailwarden bash bench/run.sh ...   # an already built server (A/B runs)
#   MW_EXTRA_FILE=extra.toml bash bench/run.sh ...  # config appended (bench/lists.sh)
#   MW_MYNETWORKS=127.0.0.1/32 LOADGEN_ARGS="-local 127.0.0.2 -message F" bash bench/run.sh ...  # bench/msgauth.sh
set -euo pipefail
N=${1:-10000}; C=${2:-20}; S=${3:-5120}
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d /tmp/mwbench.XXXXXX)
trap 'kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true; rm -rf "$work"' EXIT
if [ -n "${MW_BIN:-}" ]; then cp "$MW_BIN" "$work/mailwarden"; else go build -o "$work/mailwarden" "$root/cmd/mailwarden"; fi
go build -o "$work/loadgen" "$root/bench/loadgen"
port=$(( 20000 + RANDOM % 20000 ))
cat > "$work/mw.toml" <<CONF
hostname = "bench.local"
data_dir = "$work/data"
mynetworks = ["${MW_MYNETWORKS:-127.0.0.0/8}"]
[listen]
smtp = ["127.0.0.1:$port"]
[log]
level = "warn"
CONF
if [ -n "${MW_EXTRA_FILE:-}" ]; then cat "$MW_EXTRA_FILE" >> "$work/mw.toml"; fi
mw() { "$work/mailwarden" -config "$work/mw.toml" "$@"; }
mw domain add bench.test
echo 'benchpassword' > "$work/pw"
for i in $(seq 0 9); do mw user add "u$i@bench.test" --password-file "$work/pw" >/dev/null; done
"$work/mailwarden" -config "$work/mw.toml" serve ${CPUPROFILE:+-cpuprofile "$CPUPROFILE"} 2>"$work/server.log" &
pid=$!
for _ in $(seq 100); do (echo > /dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.1; done
echo "# $(date -u +%F) mailwarden $(git -C "$root" rev-parse --short HEAD 2>/dev/null): N=$N C=$C S=$S"
t0=$(awk '{print $14+$15}' /proc/$pid/stat)
"$work/loadgen" -addr "127.0.0.1:$port" -n "$N" -c "$C" -size "$S" -rcpt 'u%d@bench.test' -mailboxes 10 -per-conn "${PER_CONN:-100}" ${LOADGEN_ARGS:-}
t1=$(awk '{print $14+$15}' /proc/$pid/stat)
hz=$(getconf CLK_TCK)
echo "server_cpu_per_msg_us=$(( (t1 - t0) * 1000000 / hz / N ))"
echo "peak_rss=$(awk '/VmHWM/ {print $2, $3}' /proc/$pid/status)"
files=$(find "$work/data/mail/bench.test" -path '*/new/*' -type f | wc -l)
echo "delivered_files=$files"
f=$(find "$work/data/mail/bench.test" -path '*/new/*' -type f -print -quit)
grep -E '^(Authentication-Results|Received-SPF|[[:space:]])' "$f" | head -8 | sed 's/^/header: /' || true
kill -TERM $pid; wait $pid || true
