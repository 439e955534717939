#!/usr/bin/env bash
# IMAP benchmark: Mailwarden against a private, throw-away Dovecot instance,
# both serving the SAME generated mailbox: an INBOX of N messages (3-6 KB,
# varied From/Subject/Date, a third \Seen) written once as a Dovecot-style
# Maildir++ tree (with dovecot-uidlist, so both sides have the same UIDs).
#   bash bench/imap.sh [N]            (N defaults to 10000)
# Environment: SIDES="mailwarden dovecot" (default; which sides to run),
# STEPS="first fetch search sort thread append mix login idle" (default: all;
# the check always runs), IDLE_CONNS=1000, MIX_CLIENTS=10, MIX_TIME=60s,
# DOVECOT_PLAIN=1, IDLE_TLS=0 (idle connections without STARTTLS), KEEP=1
# (keep the temp dir for inspection).
#
# Per side, with bench/imapbench over plaintext LOGIN on loopback, same user
# and the same password hash (Mailwarden's argon2id string is given to Dovecot):
#   first   one SELECT + FETCH 1:* (UID FLAGS ENVELOPE) right after start, cold
#           (Dovecot builds its index and envelope cache here; Mailwarden's
#           index was built by import-maildir, timed separately)
#   fetch   -mode fetch -repeat 5   (SELECT + FETCH 1:* (UID FLAGS ENVELOPE))
#   fetchz  the same after COMPRESS DEFLATE (-compress): bytes on the wire
#           and time (Dovecot with its imap_zlib plugin); step "fetch"
#   search  -mode search -repeat 20 (SELECT + UID SEARCH UNSEEN SINCE .. NOT SUBJECT ..)
#   sort    -mode sort -repeat 10   (SELECT + UID SORT (REVERSE DATE) UTF-8 ALL)
#   thread  -mode thread -repeat 10 (SELECT + UID THREAD REFERENCES UTF-8 ALL)
#   append  -mode append -n 2000 -c 4, into the INBOX of another user (u1), so
#           u0's INBOX stays as it was for the idle test
#   mix     the mixed load (imapbench -mode mix, see bench/imapbench/mix.go):
#           MIX_CLIENTS=10 clients for MIX_TIME=60s on u2's INBOX (first
#           filled with 1,000 APPENDs, not reported), all on one folder:
#           LIST, STATUS, SELECT, FETCH, STORE, EXPUNGE, APPEND; once with
#           one login per client, once with a LOGIN/LOGOUT every cycle
#   login   the password check alone: -mode login -n 100 -c 2 as u2
#           (argon2id on both sides unless DOVECOT_PLAIN=1, which gives
#           Dovecot's u2 a {PLAIN} password as in Dovecot's imaptest runs)
#   idle    memory per connection: -mode idle -n IDLE_CONNS -hold 15s on u0's
#           INBOX, each after STARTTLS (both sides get one ECDSA P-256
#           certificate made here); memory is read when steady before, and 3-12 s after all
#           connections are in IDLE; (during - before) / IDLE_CONNS, plus the
#           time the N serial LOGIN+SELECT+IDLE took. Mailwarden: VmRSS of its one
#           process (PSS too); Dovecot: PSS and RSS summed over the master and
#           all its children (one imap process per connection).
# Durability: defaults on both sides (Mailwarden fsync on; Dovecot mail_fsync
# = optimized). Dovecot's limits are raised only as far as IDLE_CONNS needs.
set -euo pipefail
N=${1:-10000}
SIDES=${SIDES:-mailwarden dovecot}
IDLE=${IDLE_CONNS:-1000}
STEPS=" ${STEPS:-first fetch search sort thread append mix login idle} "
MIX_CLIENTS=${MIX_CLIENTS:-10}
MIX_TIME=${MIX_TIME:-60s}
HOLD=15s
PASS=benchpassword
root=$(cd "$(dirname "$0")/.." && pwd)
cmdline="bash bench/imap.sh${*:+ $*}"

# Dovecot (Debian dovecot-imapd), installed if needed. The package's own
# instance is not used; if the install started it, stop it.
if [[ " $SIDES " == *" dovecot "* ]] && [ ! -x /usr/lib/dovecot/imap ]; then
  while pgrep -x apt-get >/dev/null || pgrep -x dpkg >/dev/null; do sleep 2; done
  DEBIAN_FRONTEND=noninteractive apt-get install -y dovecot-imapd >/dev/null
  if [ -s /run/dovecot/master.pid ]; then kill "$(cat /run/dovecot/master.pid)" 2>/dev/null || true; fi
fi

ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt $((3 * IDLE + 500)) ]; then
  echo "ulimit -n $(ulimit -n) is too low for $IDLE connections" >&2; exit 1
fi

W=$(mktemp -d /tmp/imapbench.XXXXXX)
chmod 755 "$W"                       # Dovecot's mail processes run as nobody
# Every background process we start is listed in $W/pids until reaped; the
# Dovecot master's pid is in $W/dovecot.master (and it stops its children).
stop_pids() {   # TERM what is listed in $1, wait up to 10 s, then KILL the rest
  local f=$1 p alive
  [ -s "$f" ] || return 0
  for p in $(cat "$f"); do kill -TERM "$p" 2>/dev/null || true; done
  for _ in $(seq 100); do
    alive=""
    for p in $(cat "$f"); do kill -0 "$p" 2>/dev/null && alive=1; done
    [ -z "$alive" ] && break
    sleep 0.1
  done
  for p in $(cat "$f"); do kill -KILL "$p" 2>/dev/null || true; done
  : > "$f"
}
stop_dovecot() {   # TERM the master (it stops its children), KILL what is left after 10 s
  local m p alive kids
  [ -s "$W/dovecot.master" ] || return 0
  m=$(cat "$W/dovecot.master")
  kids=$(pgrep -P "$m" || true)
  kill -TERM "$m" 2>/dev/null || true
  for _ in $(seq 100); do
    kids=$( (echo "$kids"; pgrep -P "$m" || true) | sort -u)
    alive=""
    for p in $m $kids; do kill -0 "$p" 2>/dev/null && { alive=1; break; }; done
    [ -z "$alive" ] && break
    sleep 0.1
  done
  for p in $m $kids; do kill -KILL "$p" 2>/dev/null || true; done
  rm -f "$W/dovecot.master"
}
forget_pid() { sed -i "/^$1\$/d" "$W/pids"; }
# Dovecot's IDLE uses one inotify instance per imap process, all of user
# nobody: the per-user limit (often 128) is raised for the run, then restored.
INO=/proc/sys/fs/inotify/max_user_instances
restore_inotify() {
  if [ -s "$W/inotify.old" ]; then cat "$W/inotify.old" > "$INO"; rm -f "$W/inotify.old"; fi
}
cleanup() {
  stop_pids "$W/pids" 2>/dev/null || true
  stop_dovecot 2>/dev/null || true
  restore_inotify 2>/dev/null || true
  if [ -n "${KEEP:-}" ]; then echo "kept $W" >&2; else rm -rf "$W"; fi
}
trap cleanup EXIT
trap "exit 1" INT TERM HUP
touch "$W/pids"

free_port() {
  local port
  while :; do
    port=$(( 20000 + RANDOM % 20000 ))
    (: > /dev/tcp/127.0.0.1/$port) 2>/dev/null || { echo "$port"; return; }
  done
}
wait_port() {   # port pid: until something listens on port, while pid lives
  for _ in $(seq 200); do
    (: > /dev/tcp/127.0.0.1/$1) 2>/dev/null && return 0
    kill -0 "$2" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}
log_excerpt() {   # file regexp ignore: count and show the first 5 matching lines
  local n
  [ -f "$1" ] || return 0
  n=$(grep -iE "$2" "$1" | grep -vc "$3" || true)
  [ "$n" -gt 0 ] || return 0
  echo "$(basename "$1"): $n warning/error lines, first ones:" >&2
  grep -iE "$2" "$1" | grep -v "$3" | awk 'NR <= 5' >&2
}
kv() {   # "a=1 b=2 ..." key -> value
  awk -v k="$2" '{for (i = 1; i <= NF; i++) if (index($i, k "=") == 1) {print substr($i, length(k) + 2); exit}}' <<< "$1"
}

# 1. The mailbox, generated once: $W/tree is a Maildir++ root (INBOX only).
cd "$root"
mkdir -p "$W/bin"
go build -o "$W/bin/mailwarden" ./cmd/mailwarden
go build -o "$W/bin/imapbench" ./bench/imapbench
echo "$PASS" > "$W/pw"
# One certificate for both sides' STARTTLS (the idle test's connections).
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=bench.local \
  -keyout "$W/tls.key" -out "$W/tls.crt" 2>/dev/null
chmod 644 "$W/tls.key" "$W/tls.crt"
IDLE_TLS_FLAG=-starttls
[ "${IDLE_TLS:-1}" = 0 ] && IDLE_TLS_FLAG=""
python3 - "$W/tree" "$N" > "$W/tree.info" <<'PY'
import os, random, sys, time, calendar
root, n = sys.argv[1], int(sys.argv[2])
rnd = random.Random(20261123)
for d in ("cur", "new", "tmp"):
    os.makedirs(os.path.join(root, d), mode=0o700)
first = "Alice Bob Carol Dave Erin Frank Grace Heidi Ivan Judy Mallory Niaj Olivia Peggy Rupert Sybil Trent Victor Walter Zoe".split()
last = "Smith Jones Müller García Rossi Dubois Novak Kowalski Tanaka Silva O'Brien Johansson".split()
doms = "example.com example.org example.net lists.example.io corp.example mail.example.de".split()
lists = ["dev@lists.example.io", "announce@lists.example.io", "team@corp.example"]
words = ("report meeting budget release review quarterly invoice server outage schedule proposal "
         "update question project deadline contract design migration backup security patch weekly "
         "summary draft feedback agenda travel expense offer order shipping ticket").split()
lorem = ("lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt ut "
         "labore et dolore magna aliqua enim ad minim veniam quis nostrud exercitation ullamco laboris "
         "nisi aliquip ex ea commodo consequat duis aute irure in reprehenderit voluptate velit esse "
         "cillum fugiat nulla pariatur excepteur sint occaecat cupidatat non proident sunt culpa qui "
         "officia deserunt mollit anim id est laborum").split()
def person():
    f, l = rnd.choice(first), rnd.choice(last)
    addr = "%s.%s@%s" % (f.lower(), l.lower().replace("'", "").replace("ü", "ue").replace("í", "i"), rnd.choice(doms))
    r = rnd.random()
    if r < 0.1:
        return addr
    if r < 0.2:
        return '"%s, %s" <%s>' % (l, f, addr)
    if any(ord(c) > 127 for c in f + l):
        import base64
        return "=?UTF-8?B?%s?= <%s>" % (base64.b64encode((f + " " + l).encode()).decode(), addr)
    return "%s %s <%s>" % (f, l, addr)
t0 = calendar.timegm((2018, 1, 1, 8, 0, 0))
t1 = calendar.timegm((2025, 12, 31, 20, 0, 0))
edge = calendar.timegm((2020, 1, 1, 0, 0, 0))
step = (t1 - t0) / n
tzs = ["+0000", "+0100", "+0200", "-0500", "-0800", "+0530", "+0900"]
uidlist = ["3 V1700000000 N%d G6d61696c77617264656e62656e636821\n" % (n + 1)]
seen = unseen_since = total = 0
for i in range(n):
    t = int(t0 + i * step + rnd.uniform(0, step * 0.9))
    if abs(t - edge) < 2 * 86400:       # keep SINCE 1-Jan-2020 independent of time zones
        t = edge + 2 * 86400 + (t % 3600)
    tz = rnd.choice(tzs)
    off = (1 if tz[0] == "+" else -1) * (int(tz[1:3]) * 3600 + int(tz[3:]) * 60)
    date = time.strftime("%a, %d %b %Y %H:%M:%S ", time.gmtime(t + off)) + tz
    frm = person()
    subj = " ".join(rnd.choice(words) for _ in range(rnd.randint(2, 7))).capitalize()
    r = rnd.random()
    if r < 0.3:
        subj = "Re: " + subj
    elif r < 0.35:
        subj = "Fwd: " + subj
    elif r < 0.4:
        subj = "[%s] %s" % (rnd.choice(["dev", "announce", "ops"]), subj)
    mid = "<%d.%d.%x@%s>" % (t, i, rnd.getrandbits(32), frm.split("@")[-1].rstrip(">"))
    hops = "".join("Received: from mx%d.%s (mx%d.%s [192.0.2.%d])\n\tby mail.bench.test with ESMTPS id %X\n\tfor <u0@bench.test>; %s\n"
                   % (h, rnd.choice(doms), h, rnd.choice(doms), rnd.randint(1, 254), rnd.getrandbits(40), date)
                   for h in range(rnd.randint(1, 3)))
    hdr = hops + "Return-Path: <%s>\nDate: %s\nFrom: %s\n" % (frm.split("<")[-1].rstrip(">"), date, frm)
    hdr += "To: %s\n" % (rnd.choice(lists) if rnd.random() < 0.2 else "Bench User <u0@bench.test>")
    if rnd.random() < 0.25:
        hdr += "Cc: %s, %s\n" % (person(), person())
    if subj.startswith("Re: "):
        ref = "<%d.%d@%s>" % (t - 3600, rnd.randint(0, n), rnd.choice(doms))
        hdr += "In-Reply-To: %s\nReferences: %s\n" % (ref, ref)
    hdr += "Subject: %s\nMessage-ID: %s\nMIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n" % (subj, mid)
    if rnd.random() < 0.3:
        hdr += "List-Id: <dev.lists.example.io>\nList-Unsubscribe: <mailto:dev-unsubscribe@lists.example.io>\n"
    size = rnd.randint(3000, 6000)
    body, line = [], []
    blen = len(hdr.encode()) + 1
    while blen < size:
        w = rnd.choice(lorem)
        if sum(len(x) + 1 for x in line) + len(w) > 72:
            body.append(" ".join(line)); blen += len(body[-1]) + 1; line = []
            if rnd.random() < 0.12:
                body.append(""); blen += 1
        line.append(w)
    body.append(" ".join(line))
    data = (hdr + "\n" + "\n".join(body) + "\n").encode()
    s, w = len(data), len(data) + data.count(b"\n")
    base = "%d.M%dP%dQ%d.bench.local,S=%d,W=%d" % (t, rnd.randint(0, 999999), 4000 + i % 30000, i, s, w)
    if i % 3 == 0:
        sub, info = "cur", ":2,FS" if i % 30 == 0 else ":2,S"
        seen += 1
    elif i >= n - 200:
        sub, info = "new", ""
    else:
        sub, info = "cur", ":2,"
    if i % 3 and t >= edge:
        unseen_since += 1
    p = os.path.join(root, sub, base + info)
    with open(p, "wb") as f:
        f.write(data)
    os.utime(p, (t, t))
    uidlist.append("%d :%s\n" % (i + 1, base))
    total += s
with open(os.path.join(root, "dovecot-uidlist"), "w") as f:
    f.write("".join(uidlist))
print("messages=%d bytes=%d avg=%d seen=%d unseen_since=%d" % (n, total, total // n, seen, unseen_since))
PY
info=$(cat "$W/tree.info")
expect="exists=$N seen=$(kv "$info" seen) unseen_since=$(kv "$info" unseen_since) fetched=$N"

# Mailwarden's data dir with the two users; their argon2id hash is given to
# Dovecot too, so that logins cost the same on both sides.
M=$W/mailwarden
mkdir -p "$M"
mwport=$(free_port)
cat > "$M/mw.toml" <<CONF
hostname = "bench.local"
data_dir = "$M/data"
mynetworks = ["127.0.0.0/8"]
[listen]
smtp = []
imap = ["127.0.0.1:$mwport"]
[tls]
cert_file = "$W/tls.crt"
key_file = "$W/tls.key"
[auth]
allow_plaintext_loopback = true
[imap]
max_connections = $((IDLE + 100))
max_connections_per_ip = $((IDLE + 100))
[log]
level = "warn"
file = "$M/server.log"
CONF
mw() { "$W/bin/mailwarden" -config "$M/mw.toml" "$@"; }
mw domain add bench.test >/dev/null
mw user add u0@bench.test --password-file "$W/pw" >/dev/null
mw user add u1@bench.test --password-file "$W/pw" >/dev/null
mw user add u2@bench.test --password-file "$W/pw" >/dev/null
hash=$(sqlite3 -readonly "$M/data/mailwarden.db" "SELECT password FROM mailbox WHERE username='u0@bench.test'" 2>/dev/null || true)
hash_src="Mailwarden's"
if [[ "$hash" != "{ARGON2ID}"* ]]; then
  hash=$(doveadm pw -s ARGON2ID -p "$PASS" 2>/dev/null || true); hash_src="doveadm pw -s ARGON2ID"
fi

mw_version="$("$W/bin/mailwarden" version 2>/dev/null | awk 'NR == 1') (git $(git -C "$root" rev-parse --short HEAD 2>/dev/null)$(git -C "$root" diff --quiet HEAD 2>/dev/null || echo '+changes'), $(go env GOVERSION))"
dc_version="dovecot $(dovecot --version 2>/dev/null || echo '?') ($(dpkg-query -W -f '${Version}' dovecot-imapd 2>/dev/null || echo '?'))"
echo "# $(date -u '+%F %H:%M UTC') $cmdline: INBOX of $info; idle=$IDLE conns; $(nproc) CPUs"
echo "# $mw_version | $dc_version | password hash: $hash_src argon2id"

# A short session over a raw socket: counts to check that both sides serve
# the same mailbox, and FETCH 1:* (UID FLAGS ENVELOPE) parsed and normalized
# (\Recent dropped, flags sorted, literals and quoted strings alike) into
# $2, one message a line, to compare the two sides' answers.
sanity() {   # port file -> "exists=.. seen=.. unseen_since=.."
  python3 - "$1" "$PASS" "$2" <<'PY'
import json, socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=60)
r = s.makefile("rb")
r.readline()
tag = 0
def cmd(c):
    global tag
    tag += 1
    t = b"c%d" % tag
    s.sendall(t + b" " + c.encode() + b"\r\n")
    out = []
    while True:
        line = r.readline()
        if not line:
            raise SystemExit("connection closed after %s" % c)
        while line.endswith(b"}\r\n") and b"{" in line:    # literal: read it and the rest of the line
            n = int(line[line.rindex(b"{") + 1:-3])
            line = line + r.read(n) + r.readline()
        if line.startswith(t + b" "):
            if not line[len(t) + 1:].startswith(b"OK"):
                raise SystemExit("%s: %s" % (c, line.strip().decode(errors="replace")))
            return out
        out.append(line)
def parse(b, i=0):
    while b[i:i+1] == b" ":
        i += 1
    c = b[i:i+1]
    if c == b"(":
        v, i = [], i + 1
        while True:
            while b[i:i+1] == b" ":
                i += 1
            if b[i:i+1] == b")":
                return v, i + 1
            x, i = parse(b, i)
            v.append(x)
    if c == b'"':
        out, i = bytearray(), i + 1
        while b[i:i+1] != b'"':
            if b[i:i+1] == b"\\":
                i += 1
            out += b[i:i+1]; i += 1
        return out.decode(errors="replace"), i + 1
    if c == b"{":
        j = b.index(b"}", i); n = int(b[i+1:j]); i = j + 3
        return b[i:i+n].decode(errors="replace"), i + n
    j = i
    while j < len(b) and b[j:j+1] not in b" ()\r\n":
        j += 1
    a = b[i:j].decode()
    return (None if a.upper() == "NIL" else a), j
cmd('LOGIN "u0@bench.test" "%s"' % sys.argv[2])
exists = None
for l in cmd("EXAMINE INBOX"):
    if l.rstrip().upper().endswith(b" EXISTS"):
        exists = int(l.split()[1])
def count(crit):
    n = 0
    for l in cmd("UID SEARCH " + crit):
        if l.upper().startswith(b"* SEARCH"):
            n += len(l.split()) - 2
    return n
msgs = {}
for l in cmd("FETCH 1:* (UID FLAGS ENVELOPE)"):
    p = l.split(b" ", 3)
    if len(p) < 4 or p[2].upper() != b"FETCH":
        continue
    items, _ = parse(p[3])
    d = {str(items[k]).upper(): items[k + 1] for k in range(0, len(items) - 1, 2)}
    flags = sorted(f for f in d.get("FLAGS", []) if f.lower() != "\\recent")
    msgs[int(d["UID"])] = json.dumps([flags, d.get("ENVELOPE")], ensure_ascii=False)
with open(sys.argv[3], "w") as f:
    for uid in sorted(msgs):
        f.write("%d %s\n" % (uid, msgs[uid]))
print("exists=%s seen=%d unseen_since=%d fetched=%d" % (exists, count("SEEN"), count('UNSEEN SINCE 1-Jan-2020 NOT SUBJECT "zzzz-not-there"'), len(msgs)))
s.sendall(b"z LOGOUT\r\n")
PY
}

# The benchmark proper, the same for both sides. $1: side, $2: port,
# $3: memory function printing "RSS_KB PSS_KB PROCESSES".
bench() {
  local side=$1 port=$2 memf=$3 cpuf=$4 r d=$W/$1 ipid before after c0 c1
  ib() { "$W/bin/imapbench" -addr "127.0.0.1:$port" -pass "$PASS" "$@"; }
  step() { [[ "$STEPS" == *" $1 "* ]]; }
  if step first; then r=$(ib -user u0@bench.test -mode fetch -repeat 1); echo "$side first: $r"; echo "first=$r" >> "$d/res"; fi
  r=$(sanity "$port" "$d/fetch.txt"); echo "$side check: $r"; echo "check=$r" >> "$d/res"
  [ "$r" = "$expect" ] || echo "$side: WARNING: counts differ from the generated mailbox ($expect)" >&2
  if step fetch; then r=$(ib -user u0@bench.test -mode fetch -repeat 5); echo "$side $r"; echo "fetch=$r" >> "$d/res"; fi
  if step fetch; then r=$(ib -user u0@bench.test -mode fetch -repeat 5 -compress); echo "$side $r"; echo "fetchz=$r" >> "$d/res"; fi
  if step search; then r=$(ib -user u0@bench.test -mode search -repeat 20); echo "$side $r"; echo "search=$r" >> "$d/res"; fi
  if step sort; then r=$(ib -user u0@bench.test -mode sort -repeat 10); echo "$side $r"; echo "sort=$r" >> "$d/res"; fi
  if step thread; then r=$(ib -user u0@bench.test -mode thread -repeat 10); echo "$side $r"; echo "thread=$r" >> "$d/res"; fi
  if step append; then r=$(ib -user u1@bench.test -mode append -n 2000 -c 4); echo "$side $r"; echo "append=$r" >> "$d/res"; fi
  if step mix; then
    r=$(ib -user u2@bench.test -mode append -n 1000 -c 4); echo "$side mix seed: $r"
    # Server CPU (user+system, all processes) per cycle, logins excluded
    # in the first run: clients log in before the clock starts, and the
    # CPU is read once they are connected (the first cycle is not
    # separated: it starts as soon as the last client logged in).
    c0=$($cpuf); r=$(ib -user u2@bench.test -mode mix -c "$MIX_CLIENTS" -duration "$MIX_TIME"); c1=$($cpuf)
    r="$r server_cpu_ms_per_cycle=$(awk -v a="$c0" -v b="$c1" -v c="$(kv "$r" cycles)" -v hz="$(getconf CLK_TCK)" 'BEGIN {printf "%.2f", (b - a) * 1000 / hz / c}')"
    echo "$side $r"; echo "mix=$r" >> "$d/res"
    c0=$($cpuf); r=$(ib -user u2@bench.test -mode mix -login -c "$MIX_CLIENTS" -duration "$MIX_TIME"); c1=$($cpuf)
    r="$r server_cpu_ms_per_cycle=$(awk -v a="$c0" -v b="$c1" -v c="$(kv "$r" cycles)" -v hz="$(getconf CLK_TCK)" 'BEGIN {printf "%.2f", (b - a) * 1000 / hz / c}')"
    echo "$side $r"; echo "mixlogin=$r" >> "$d/res"
  fi
  if step login; then r=$(ib -user u2@bench.test -mode login -n 100 -c 2); echo "$side $r"; echo "login=$r" >> "$d/res"; fi
  step idle || return 0
  # Memory is read once it is steady: three samples 1 s apart within 1 MB
  # (RSS), at most $2 s. Before: after finished sessions' processes are gone
  # and a garbage-collected heap has settled; during: from 3 s after the last
  # connection is in IDLE, at most 12 s into the hold.
  settle() {
    local a b c i
    a=$($memf); sleep 1; b=$($memf); c=$b
    for ((i = 2; i < $1; i++)); do
      sleep 1; c=$($memf)
      printf '%s\n' "$a" "$b" "$c" | awk '{if (NR == 1 || $1 < lo) lo = $1; if ($1 > hi) hi = $1} END {exit !(hi - lo < 1024)}' && break
      a=$b; b=$c
    done
    echo "$c"
  }
  before=$(settle 30)
  local t0 t1
  t0=$(date +%s.%N)
  ib -user u0@bench.test -mode idle -n "$IDLE" -hold "$HOLD" $IDLE_TLS_FLAG > "$d/idle.out" 2>&1 &
  ipid=$!; echo "$ipid" >> "$W/pids"
  for _ in $(seq 6000); do             # connecting takes a while (argon2id per login)
    grep -q idling "$d/idle.out" && break
    kill -0 "$ipid" 2>/dev/null || break
    sleep 0.1
  done
  t1=$(date +%s.%N)
  if ! grep -q idling "$d/idle.out"; then
    echo "$side: idle connections failed: $(cat "$d/idle.out")" >&2; return 1
  fi
  sleep 3
  after=$(settle 9)
  wait "$ipid" || { echo "$side: imapbench idle: $(cat "$d/idle.out")" >&2; return 1; }
  forget_pid "$ipid"
  local took; took=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.1fs", b - a}')
  echo "$side $(head -1 "$d/idle.out") (connected in $took); memory before: $before, during: $after (RSS KB, PSS KB, processes)"
  echo "idle=$before $after" >> "$d/res"
  echo "connect=$took" >> "$d/res"
}

# 2. Mailwarden: import the tree, serve IMAP, run the benchmark.
mw_side() {
  local t0 t1 out pid
  t0=$(date +%s.%N)
  out=$(mw import-maildir u0@bench.test "$W/tree")
  t1=$(date +%s.%N)
  echo "mailwarden import-maildir: $out ($(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.2fs", b-a}'))"
  echo "import=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.2fs", b-a}')" >> "$M/res"
  # The port is picked again just before the start (the import takes
  # seconds, other programs bind ports meanwhile), and once more if taken.
  local try
  for try in 1 2 3; do
    mwport=$(free_port)
    sed -i "s/^imap = .*/imap = [\"127.0.0.1:$mwport\"]/" "$M/mw.toml"
    "$W/bin/mailwarden" -config "$M/mw.toml" serve 2>> "$M/server.log" &
    pid=$!; echo "$pid" >> "$W/pids"; echo "$pid" > "$M/pid"
    wait_port "$mwport" "$pid" && break
    wait "$pid" 2>/dev/null || true
    forget_pid "$pid"
    if [ "$try" -lt 3 ] && tail -3 "$M/server.log" | grep -q "address already in use"; then continue; fi
    echo "mailwarden: nothing listens on imap 127.0.0.1:$mwport (is internal/imapserver wired in cmd/mailwarden/serve.go?)" >&2
    tail -5 "$M/server.log" >&2
    return 1
  done
  # The idle test gets a fresh process: the heap of the earlier steps,
  # given back to the kernel while connections are opened, would make
  # the memory per connection look smaller than it is.
  local all=$STEPS
  STEPS=${all/ idle / }
  bench mailwarden "$mwport" mw_mem mw_cpu
  kill -TERM "$pid"; wait "$pid" || true
  forget_pid "$pid"
  STEPS=$all
  [[ "$STEPS" == *" idle "* ]] || return 0
  "$W/bin/mailwarden" -config "$M/mw.toml" serve 2>> "$M/server.log" &
  pid=$!; echo "$pid" >> "$W/pids"; echo "$pid" > "$M/pid"
  wait_port "$mwport" "$pid" || { echo "mailwarden: no restart on $mwport" >&2; return 1; }
  STEPS=" idle "
  bench mailwarden "$mwport" mw_mem mw_cpu
  STEPS=$all
  kill -TERM "$pid"; wait "$pid" || true
  forget_pid "$pid"
}
mw_mem() {
  local pid; pid=$(cat "$M/pid")
  awk '$1=="VmRSS:" {r=$2} $1=="Pss:" {p=$2} END {print r, p, 1}' "/proc/$pid/status" "/proc/$pid/smaps_rollup"
}

# 3. Dovecot: a private instance on a copy of the same tree, owned by nobody.
D=$W/dovecot
dc_side() {
  local port m
  case "$(dovecot --version)" in 2.3.*) ;; *) echo "dovecot: only 2.3 is supported by this script" >&2; return 1;; esac
  port=$(free_port)
  mkdir -p "$D/mail" "$D/home"
  cp -a "$W/tree" "$D/mail/u0@bench.test"
  chown -R nobody:nogroup "$D/mail" "$D/home"
  echo "u0@bench.test:$hash::::::" > "$D/passwd"
  echo "u1@bench.test:$hash::::::" >> "$D/passwd"
  if [ -n "${DOVECOT_PLAIN:-}" ]; then
    echo "u2@bench.test:{PLAIN}$PASS::::::" >> "$D/passwd"
  else
    echo "u2@bench.test:$hash::::::" >> "$D/passwd"
  fi
  chmod 644 "$D/passwd"
  cat > "$D/dovecot.conf" <<CONF
# Private benchmark instance (bench/imap.sh); nothing is read from /etc/dovecot.
instance_name = imapbench-$$
base_dir = $D/run
state_dir = $D/state
protocols = imap
listen = 127.0.0.1
ssl = yes
ssl_cert = <$W/tls.crt
ssl_key = <$W/tls.key
disable_plaintext_auth = no
log_path = $D/dovecot.log
mail_location = maildir:$D/mail/%u
passdb {
  driver = passwd-file
  args = $D/passwd
}
userdb {
  driver = static
  args = uid=65534 gid=65534 home=$D/home/%u
}
protocol imap {
  mail_max_userip_connections = $((IDLE + 100))
  mail_plugins = \$mail_plugins imap_zlib
}
# Room for IDLE_CONNS connections; everything else is Dovecot's default.
default_client_limit = $((2 * IDLE + 200))
service imap-login {
  inet_listener imap {
    port = $port
  }
  inet_listener imaps {
    port = 0
  }
  service_count = 0
  process_min_avail = $(nproc)
  client_limit = $((IDLE + 100))
}
service imap {
  process_limit = $((IDLE + 100))
}
CONF
  if ! doveconf -c "$D/dovecot.conf" -n > "$D/doveconf.out" 2> "$D/doveconf.err"; then
    echo "dovecot: doveconf -n failed:" >&2; cat "$D/doveconf.err" >&2; return 1
  fi
  [ -s "$D/doveconf.err" ] && { echo "doveconf warnings:"; cat "$D/doveconf.err"; }
  if [ -w "$INO" ] && [ "$(cat "$INO")" -lt $((IDLE + 200)) ]; then
    cat "$INO" > "$W/inotify.old"; echo $((IDLE + 200)) > "$INO"
    echo "dovecot: fs.inotify.max_user_instances raised from $(cat "$W/inotify.old") to $((IDLE + 200)) for the run"
  fi
  dovecot -F -c "$D/dovecot.conf" 2>> "$D/dovecot.log" &
  m=$!; echo "$m" > "$W/dovecot.master"
  if ! wait_port "$port" "$m"; then
    echo "dovecot: not listening on 127.0.0.1:$port" >&2; tail -5 "$D/dovecot.log" >&2; return 1
  fi
  bench dovecot "$port" dc_mem dc_cpu
  stop_dovecot
  restore_inotify
}
mw_cpu() {   # clock ticks of user+system CPU so far
  awk '{print $14 + $15 + $16 + $17}' "/proc/$(cat "$M/pid")/stat"
}
dc_cpu() {   # the master and its children, with the children they reaped
  local m p t=0
  m=$(cat "$W/dovecot.master")
  for p in $m $(pgrep -P "$m"); do
    t=$((t + $(awk '{print $14 + $15 + $16 + $17}' "/proc/$p/stat" 2>/dev/null || echo 0)))
  done
  echo "$t"
}
dc_mem() {   # master and all its children
  local m p f=()
  m=$(cat "$W/dovecot.master")
  for p in $m $(pgrep -P "$m"); do f+=("/proc/$p/smaps_rollup"); done
  cat "${f[@]}" 2>/dev/null | awk '$1=="Rss:" {r+=$2; k++} $1=="Pss:" {p+=$2} END {print r, p, k}'
}

failed=""
mkdir -p "$D"; touch "$M/res" "$D/res"
for side in $SIDES; do
  case $side in
    mailwarden) fn=mw_side;;
    dovecot) fn=dc_side;;
    *) echo "unknown side $side" >&2; exit 2;;
  esac
  set +e
  ( set -e; trap 'stop_pids "$W/pids"; stop_dovecot' EXIT; trap "exit 1" INT TERM HUP; $fn )
  rc=$?
  set -e
  case $side in   # what the server logged beyond the usual
    mailwarden) log_excerpt "$M/server.log" 'warn|error|panic' 'generated a self-signed certificate';;
    dovecot) log_excerpt "$D/dovecot.log" 'Warning|Error|Fatal|Panic' 'master: Warning: Killed with signal 15';;
  esac
  [ "$rc" -eq 0 ] || { failed="$failed $side"; echo "$side: FAILED (exit $rc)" >&2; }
done

# 4. The table.
res() { sed -n "s/^$2=//p" "$W/$1/res" | awk 'NR == 1'; }
cell() {   # side what
  local dir=$1 r a b
  case $2 in
    import|connect) r=$(res "$dir" "$2"); echo "${r:--}";;
    first) r=$(res "$dir" first); [ -n "$r" ] && echo "$(kv "$r" min | tr -d ms) ms" || echo -;;
    fetch|fetchz|search|sort|thread) r=$(res "$dir" "$2"); [ -n "$r" ] && echo "$(kv "$r" median | tr -d ms) ($(kv "$r" min | tr -d ms)) ms" || echo -;;
    wirez) r=$(res "$dir" fetchz); [ -n "$r" ] && kv "$r" wire_bytes || echo -;;
    bytes) r=$(res "$dir" fetch); [ -n "$r" ] && kv "$r" response_bytes || echo -;;
    append) r=$(res "$dir" append); [ -n "$r" ] && echo "$(kv "$r" rate)/s p50 $(kv "$r" median)" || echo -;;
    mix|mixlogin) r=$(res "$dir" "$2"); [ -n "$r" ] && echo "$(kv "$r" cycles_per_s)/s, $(kv "$r" commands_per_s) cmd/s, $(kv "$r" server_cpu_ms_per_cycle) ms CPU" || echo -;;
    mix_*) r=$(res "$dir" mix); [ -n "$r" ] && echo "$(kv "$r" "${2#mix_}")" || echo -;;
    login) r=$(res "$dir" login); [ -n "$r" ] && echo "$(kv "$r" rate)/s p50 $(kv "$r" median)" || echo -;;
    idle_pss|idle_rss) r=$(res "$dir" idle)
      if [ -z "$r" ]; then echo -; else
        read -r rb pb nb ra pa na <<< "$r"
        if [ "$2" = idle_pss ]; then a=$pb; b=$pa; else a=$rb; b=$ra; fi
        awk -v a="$a" -v b="$b" -v n="$IDLE" -v k="$na" 'BEGIN {printf "%.1f KB (%d procs)", (b-a)/n, k}'
      fi;;
    check) r=$(res "$dir" check); echo "${r:--}" | sed 's/exists=//; s/ seen=/\//; s/ unseen_since=/\//; s/ fetched=.*//';;
    before) r=$(res "$dir" idle)
      if [ -z "$r" ]; then echo -; else read -r rb pb nb rest <<< "$r"; echo "$((pb / 1024)) / $((rb / 1024)) MB ($nb procs)"; fi;;
  esac
}
echo
echo "# IMAP, $(date -u +%F), $cmdline: $N messages (avg $(kv "$info" avg) B) in INBOX"
echo "# $mw_version | $dc_version"
printf '%-50s %-26s %-26s\n' "" mailwarden dovecot
row() { printf '%-50s %-26s %-26s\n' "$1" "$(cell mailwarden "$2")" "$(cell dovecot "$2")"; }
row "mailbox load (import-maildir)" import
row "first SELECT+FETCH after start (cold)" first
row "SELECT+FETCH 1:* (UID FLAGS ENVELOPE) x5" fetch
row "  FETCH response bytes" bytes
row "the same after COMPRESS DEFLATE x5" fetchz
row "  FETCH bytes on the wire, compressed" wirez
row "SELECT+UID SEARCH x20" search
row "SELECT+UID SORT (REVERSE DATE) x10" sort
row "SELECT+UID THREAD REFERENCES x10" thread
row "APPEND 2000 x $(kv "$(res mailwarden append)$(res dovecot append)" size) B, 4 conns" append
row "mix ($MIX_CLIENTS clients, $MIX_TIME): cycles, cmds, CPU/cycle" mix
for k in list status select fetch store expunge append; do row "  $k (count@mean latency)" "mix_$k"; done
row "mix with LOGIN/LOGOUT every cycle" mixlogin
row "LOGIN+LOGOUT alone, 2 conns" login
row "memory before the idle test, PSS / RSS" before
row "time to open $IDLE IDLE connections (serially)" connect
row "idle memory/conn, PSS ($IDLE conns${IDLE_TLS_FLAG:+, STARTTLS})" idle_pss
row "idle memory/conn, RSS" idle_rss
row "check: exists/seen/unseen-since ($N/$(kv "$info" seen)/$(kv "$info" unseen_since))" check
echo "# times: median (min); memory: (during - before) / $IDLE"
if [ -s "$M/fetch.txt" ] && [ -s "$D/fetch.txt" ]; then
  ndiff=$(diff "$M/fetch.txt" "$D/fetch.txt" | grep -c '^<' || true)
  echo "# FETCH 1:* (UID FLAGS ENVELOPE), parsed: $ndiff of $N messages differ between the sides"
  if [ "$ndiff" -gt 0 ]; then
    diff "$M/fetch.txt" "$D/fetch.txt" | awk '/^[<>]/ && ++k <= 4' | sed 's/^</#   mailwarden:/; s/^>/#   dovecot:   /'
  fi
fi
if [ -n "$failed" ]; then echo "FAILED:$failed" >&2; exit 1; fi
