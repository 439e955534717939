#!/usr/bin/env bash
# Inbound SMTP benchmark: N messages of S bytes over C connections into 10
# local mailboxes, full durability (fsync). Prints the loadgen line and the
# server's peak RSS.
#   bash bench/run.sh [N] [C] [S]
set -euo pipefail
N=${1:-10000}; C=${2:-20}; S=${3:-5120}
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d /tmp/mwbench.XXXXXX)
trap 'kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true; rm -rf "$work"' EXIT
go build -o "$work/mailwarden" "$root/cmd/mailwarden"
go build -o "$work/loadgen" "$root/bench/loadgen"
port=$(( 20000 + RANDOM % 20000 ))
cat > "$work/mw.toml" <<CONF
hostname = "bench.local"
data_dir = "$work/data"
mynetworks = ["127.0.0.0/8"]
[listen]
smtp = ["127.0.0.1:$port"]
[log]
level = "warn"
CONF
mw() { "$work/mailwarden" -config "$work/mw.toml" "$@"; }
mw domain add bench.test
echo 'benchpassword' > "$work/pw"
for i in $(seq 0 9); do mw user add "u$i@bench.test" --password-file "$work/pw" >/dev/null; done
"$work/mailwarden" -config "$work/mw.toml" serve ${CPUPROFILE:+-cpuprofile "$CPUPROFILE"} 2>"$work/server.log" &
pid=$!
for _ in $(seq 100); do (echo > /dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.1; done
echo "# $(date -u +%F) mailwarden $(git -C "$root" rev-parse --short HEAD 2>/dev/null): N=$N C=$C S=$S"
"$work/loadgen" -addr "127.0.0.1:$port" -n "$N" -c "$C" -size "$S" -rcpt 'u%d@bench.test' -mailboxes 10
echo "peak_rss=$(awk '/VmHWM/ {print $2, $3}' /proc/$pid/status)"
files=$(find "$work/data/mail/bench.test" -path '*/new/*' -type f | wc -l)
echo "delivered_files=$files"
kill -TERM $pid; wait $pid || true
