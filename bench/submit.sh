#!/usr/bin/env bash
# Outbound end-to-end benchmark: N messages of 5 KiB submitted with
# STARTTLS + AUTH PLAIN over C connections to the submission port, each to
# its own recipient rcptK@sink.test, and delivered by the outbound queue to
# bench/sink (SMTP on 127.0.0.2, DNS on 127.0.0.1 serving the MX). Full
# durability (fsync). One run per TEMPFAIL value (default: 0, then 0.5):
# the sink answers 451 4.7.1 to that fraction of recipient addresses.
# Prints, per run: the loadgen line (submission msgs/s, p50/p99), the time
# from the start of submission until the last delivery (or, with TEMPFAIL,
# the last first attempt) at the sink and its rate, the queue's peak size
# (queue_message rows, sampled every 0.2 s), the server's peak RSS, and the
# deferred recipients left in queue_rcpt.
#   bash bench/submit.sh [N] [C] [TEMPFAIL...]
set -euo pipefail
N=${1:-5000}; C=${2:-10}; shift $(( $# < 2 ? $# : 2 ))
TEMPFAILS=("$@"); [ ${#TEMPFAILS[@]} -gt 0 ] || TEMPFAILS=(0 0.5)
root=$(cd "$(dirname "$0")/.." && pwd)
command -v sqlite3 >/dev/null || { apt-get install -y sqlite3 >/dev/null 2>&1 || { echo "submit.sh: sqlite3 is needed" >&2; exit 1; }; }

bin=$(mktemp -d /tmp/mwsubmit-bin.XXXXXX)
work=""; pid=""; spid=""; qpid=""
cleanup() {
	for p in $qpid $pid $spid; do kill -TERM "$p" 2>/dev/null || true; done
	for p in $qpid $pid $spid; do wait "$p" 2>/dev/null || true; done
	qpid=""; pid=""; spid=""
	[ -z "$work" ] || rm -rf "$work"
	work=""
}
trap 'cleanup; rm -rf "$bin"' EXIT
go build -o "$bin/mailwarden" "$root/cmd/mailwarden"
go build -o "$bin/loadgen" "$root/bench/loadgen"
go build -o "$bin/sink" "$root/bench/sink"

now() { date +%s%N; }
# stat KEY: a counter from the sink's stats file.
stat() { tr ' ' '\n' < "$work/sink.stats" | sed -n "s/^$1=//p"; }
q() { sqlite3 -cmd '.timeout 2000' "$work/data/mailwarden.db" "$1" 2>/dev/null || echo -1; }
port() { echo $(( 20000 + RANDOM % 20000 )); }
wait_port() { for _ in $(seq 100); do (echo > "/dev/tcp/$1/$2") 2>/dev/null && return 0; sleep 0.1; done; echo "nothing on $1:$2" >&2; return 1; }

run_one() {
	local tf=$1
	work=$(mktemp -d /tmp/mwsubmit.XXXXXX)
	local smtp_port sub_port sink_port dns_port
	smtp_port=$(port); sub_port=$(port); sink_port=$(port); dns_port=$(port)
	cat > "$work/mw.toml" <<CONF
hostname = "bench.local"
data_dir = "$work/data"
mynetworks = ["192.0.2.1/32"]
[listen]
smtp = ["127.0.0.1:$smtp_port"]
submission = ["127.0.0.1:$sub_port"]
[auth]
allow_plaintext_loopback = false
[dns]
resolvers = ["127.0.0.1:$dns_port"]
[outbound]
smtp_port = $sink_port
[log]
level = "warn"
CONF
	mw() { "$bin/mailwarden" -config "$work/mw.toml" "$@"; }
	mw domain add bench.test >/dev/null
	echo 'benchpassword' > "$work/pw"
	mw user add u0@bench.test --password-file "$work/pw" >/dev/null

	"$bin/sink" -port "$sink_port" -dnsport "$dns_port" -tempfail "$tf" -stats "$work/sink.stats" -interval 100ms >"$work/sink.out" 2>&1 &
	spid=$!
	"$bin/mailwarden" -config "$work/mw.toml" serve 2>"$work/server.log" &
	pid=$!
	wait_port 127.0.0.2 "$sink_port"
	wait_port 127.0.0.1 "$sub_port"

	# Queue sampler: queue_message rows every 0.2 s.
	( while :; do q 'select count(*) from queue_message' >> "$work/qsizes"; sleep 0.2; done ) &
	qpid=$!

	echo "# $(date -u +%F) mailwarden $(git -C "$root" rev-parse --short HEAD 2>/dev/null): submission N=$N C=$C S=5120 tempfail=$tf ($(nproc) cores)"
	local t0; t0=$(now)
	"$bin/loadgen" -addr "127.0.0.1:$sub_port" -n "$N" -c "$C" -size 5120 -starttls \
		-auth u0@bench.test:benchpassword -from u0@bench.test -rcpt 'rcpt%d@sink.test' -mailboxes "$N" || echo "loadgen failed"

	# Wait for the deliveries: all N at the sink, or (with tempfail) no
	# recipient left untried and the deferred count stable for 1 s.
	local deadline=$(( $(date +%s) + 600 )) prev=-2 stable=0 queued deferred msgs
	while [ "$(date +%s)" -lt $deadline ]; do
		msgs=$(stat msgs)
		if [ "$tf" = 0 ]; then
			[ "$msgs" -ge "$N" ] && break
		else
			queued=$(q "select count(*) from queue_rcpt where status='queued'")
			deferred=$(q "select count(*) from queue_rcpt where status='deferred'")
			if [ "$queued" = 0 ] && [ "$deferred" = "$prev" ]; then
				stable=$((stable + 1)); [ $stable -ge 5 ] && break
			else
				stable=0
			fi
			prev=$deferred
		fi
		sleep 0.2
	done
	sleep 0.3 # let the sink's stats file catch up
	kill "$qpid" 2>/dev/null || true; wait "$qpid" 2>/dev/null || true; qpid=""
	msgs=$(stat msgs)
	local last tempfailed distinct secs
	last=$(stat last_ns); tempfailed=$(stat tempfailed); distinct=$(stat tempfailed_distinct)
	secs=$(awk -v a="$t0" -v b="$last" 'BEGIN { printf "%.2f", (b - a) / 1e9 }')
	if [ "$tf" = 0 ]; then
		echo "delivered=$msgs/$N in ${secs}s (from submission start to last delivery) delivery_rate=$(awk -v m="$msgs" -v s="$secs" 'BEGIN { printf "%.0f", m / s }') msgs/s"
	else
		echo "first attempts done in ${secs}s: delivered=$msgs tempfailed=$tempfailed (distinct $distinct) attempts_rate=$(awk -v m="$msgs" -v t="$tempfailed" -v s="$secs" 'BEGIN { printf "%.0f", (m + t) / s }') rcpts/s delivery_rate=$(awk -v m="$msgs" -v s="$secs" 'BEGIN { printf "%.0f", m / s }') msgs/s"
		echo "queue_rcpt deferred=$(q "select count(*) from queue_rcpt where status='deferred'") queued=$(q "select count(*) from queue_rcpt where status='queued'") queue_message=$(q 'select count(*) from queue_message')"
		echo "deferred by attempts: $(q "select attempts || 'x' || count(*) from queue_rcpt where status='deferred' group by attempts" | tr '\n' ' ')"
	fi
	echo "peak_queue=$(sort -n "$work/qsizes" | tail -1) messages (samples=$(wc -l < "$work/qsizes"))"
	echo "peak_rss=$(awk '/VmHWM/ {print $2, $3}' /proc/$pid/status)"
	echo "sink_stats: $(cat "$work/sink.stats")"
	if [ -s "$work/server.log" ]; then echo "server log (warn+): $(wc -l < "$work/server.log") lines, first: $(head -1 "$work/server.log")"; fi
	cleanup
}

for tf in "${TEMPFAILS[@]}"; do run_one "$tf"; done
