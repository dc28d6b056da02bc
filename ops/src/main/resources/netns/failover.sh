#!/usr/bin/env bash
# Failover of a single-path initiator, across hosts: three raftlun nodes and one initiator, each a
# network namespace with its own interface on one bridge (itself in a namespace), all made here
# and removed on exit. The initiator (QEMU's libiscsi in qemu-storage-daemon, FUSE export, loop
# device, ext4) knows only the floating portal. While a writer creates files with fsync:
#   0. the node holding the floating portal, which also leads the volume, is drained (maintenance);
#   1. the node holding the floating portal, which also leads the volume, is killed (-9);
#      then it comes back and catches up;
#   2. the holder is cut off from the bridge (alive, partitioned); it must give the address up
#      and acknowledge nothing more, the new holder must reset the initiator's connection to it
#      (the initiator logs in again within 1.5 s of the address moving); then the link comes back.
# Afterwards: no write or fsync failed, e2fsck is clean, every fsynced file reads back intact.
# Prints "stall PHASE SECONDS" lines: drain, kill, rejoin (the killed node back and catching up),
# partition, each the longest time a write+fsync was under way from the phase's start to the
# next's (a write already slow before a phase counts in the phase it was slow in); exit 0 = passed.
#
# usage: failover.sh RAFTLUN_JAR WORK_DIR    (as root: namespaces, mount, losetup)
#        ELECTION_TIMEOUT_MS=N in the environment sets the cluster's Raft election timeout.
set -euo pipefail
jar=$1
work=$2
mkdir -p "$work"
# An earlier run in this directory (the bench makes one per round) left its stop file, which would
# end this run's writer before its first file: start without it, and without that run's files.
rm -rf "$work/stop" "$work/src" "$work/writer.log" "$work/writer.err"
tag=rl$$                       # names unique to this run (interfaces: at most 15 characters)
net=10.231.$(( $$ % 200 + 20 ))
floating=$net.100
iqn=iqn.2026-11.io.raftlun:failover
nodes=(n1 n2 n3)
mnt=$work/mnt
loopdev=

log() { echo "[$(date +%T.%3N)] $*"; }
fail() { log "FAILED: $*"; exit 1; }

cleanup() {
  set +e
  [[ -n $writer_pid ]] && kill "$writer_pid" 2>/dev/null
  mountpoint -q "$mnt" && umount -l "$mnt"
  [[ -n $loopdev ]] && losetup -d "$loopdev"
  # $! of a command started through in_ns is a subshell's; the daemon's own pid is in its pid file.
  # It may hang (and spin) on a portal that is gone: TERM, then KILL.
  if [[ -f $work/qsd.pid ]]; then
    qsd=$(cat "$work/qsd.pid")
    kill "$qsd" 2>/dev/null
    for _ in $(seq 50); do kill -0 "$qsd" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$qsd" 2>/dev/null
  fi
  mountpoint -q "$work/lun.img" && umount -l "$work/lun.img"
  for n in "${nodes[@]}"; do
    [[ -f $work/$n/pid ]] && kill -9 "$(cat "$work/$n/pid")" 2>/dev/null
  done
  for host in "${nodes[@]}" ini sw; do ip netns del "$tag-$host" 2>/dev/null; done
  rm -f /tmp/librocksdbjni*.so 2>/dev/null
}
writer_pid=
trap cleanup EXIT
trap "exit 1" INT TERM   # the EXIT trap then runs too: nothing is left behind

in_ns() { local host=$1; shift; nsenter --net="/run/netns/$tag-$host" "$@"; }

# ---------------------------------------------------------------- the network
ip netns add "$tag-sw"
ip -n "$tag-sw" link add br0 type bridge
ip -n "$tag-sw" link set br0 up
hosts=(n1 n2 n3 ini)
addrs=("$net.1" "$net.2" "$net.3" "$net.10")
for i in "${!hosts[@]}"; do
  host=${hosts[$i]}
  ip netns add "$tag-$host"
  ip link add "$tag$host" type veth peer name "$tag${host}p"
  ip link set "$tag$host" netns "$tag-$host"
  ip link set "$tag${host}p" netns "$tag-sw"
  ip -n "$tag-$host" link set "$tag$host" name eth0
  ip -n "$tag-$host" addr add "${addrs[$i]}/24" dev eth0
  ip -n "$tag-$host" link set eth0 up
  ip -n "$tag-$host" link set lo up
  ip -n "$tag-sw" link set "$tag${host}p" master br0 up
done
in_ns ini arping -q -c 1 -w 2 -I eth0 "$net.1" || fail "the bridge does not carry traffic"

# ---------------------------------------------------------------- the cluster
members=""
election=""
[[ -n ${ELECTION_TIMEOUT_MS:-} ]] && election=",\"electionTimeoutMs\":$ELECTION_TIMEOUT_MS"
for i in 1 2 3; do members+="{\"name\":\"n$i\",\"raft\":\"$net.$i:9270\"},"; done
for i in 1 2 3; do
  rm -rf "$work/n$i"             # a new cluster each run: an earlier run's groups are not its own
  mkdir -p "$work/n$i"
  cat > "$work/n$i/node.json" <<JSON
{"name":"n$i","dataDir":"$work/n$i/data","portal":"$net.$i:3260","admin":"$net.$i:9260",
 "cluster":{"id":"failover-$tag","members":[${members%,}],"replicationFactor":3,
            "floatingPortal":"$floating/24"$election}}
JSON
done

start_node() {
  local n=$1 extra=()
  [[ $n == n1 ]] && extra=(--target "$iqn" --lun 1:256M)
  in_ns "$n" java -Xmx512m -jar "$jar" node --config "$work/$n/node.json" --pid-file "$work/$n/pid" \
    "${extra[@]}" >>"$work/$n/node.log" 2>&1 &
}
for n in "${nodes[@]}"; do start_node "$n"; done

status() { # status NODE: the node's /api/status, or nothing
  local n=$1 i=${1#n}
  in_ns "$n" curl -s -m 2 -H "Authorization: Bearer $(cat "$work/$n/data/admin.token" 2>/dev/null)" \
    "http://$net.$i:9260/api/status" 2>/dev/null || true
}
# Whether NODE's interface carries the floating address. (Not "ip | grep -q": grep leaving early
# can fail ip with SIGPIPE, and pipefail then reports the address missing.)
has_floating() { [[ $(ip -n "$tag-$1" -o addr show dev eth0) == *" $floating/"* ]]; }
holder() { # the live node with the floating address (a killed one may still have it configured)
  for n in "${nodes[@]}"; do
    if [[ -f $work/$n/pid ]] && kill -0 "$(cat "$work/$n/pid")" 2>/dev/null && has_floating "$n"; then
      echo "$n"; return
    fi
  done
}
volume_leader() { status "$1" | python3 -c 'import json,sys
try:
  v=json.load(sys.stdin)["cluster"]["volumes"]; print(v[0]["leader"] or "")
except Exception: print("")'; }
applied() { status "$1" | python3 -c 'import json,sys
try:
  v=json.load(sys.stdin)["cluster"]["volumes"][0]; print(v.get("appliedIndex",-1))
except Exception: print(-1)'; }
wait_for() { # wait_for SECONDS WHAT COMMAND...
  local deadline=$(( $(date +%s) + $1 )) what=$2; shift 2
  until "$@"; do (( $(date +%s) < deadline )) || fail "timed out waiting until $what"; sleep 0.5; done
}
not_on() { ! has_floating "$1"; }
has_holder_leading_volume() { local h; h=$(holder); [[ -n $h && $(volume_leader "$h") == "$h" ]]; }
wait_for 120 "a node holds the floating portal and leads the volume" has_holder_leading_volume
log "floating portal $floating held by $(holder)"

# ---------------------------------------------------------------- the initiator
: > "$work/lun.img"
in_ns ini qemu-storage-daemon --pidfile "$work/qsd.pid" \
  --blockdev "driver=iscsi,node-name=lun,transport=tcp,portal=$floating:3260,target=$iqn,lun=1,cache.direct=on" \
  --export "type=fuse,id=export,node-name=lun,mountpoint=$work/lun.img,writable=on" >"$work/qsd.log" 2>&1 &
wait_for 30 "qemu-storage-daemon exports the LUN" test -s "$work/lun.img"
loopdev=$(losetup -f --show "$work/lun.img")
mkfs.ext4 -q -F "$loopdev"
mkdir -p "$mnt"
mount "$loopdev" "$mnt"

# The writer: files of 64 KiB, each written and fsynced (dd conv=fsync), timed; a failed write
# or fsync is an I/O error that reached the filesystem.
writer() {
  mkdir -p "$work/src"
  local i=0 start end
  while [[ ! -f $work/stop ]] && (( i < 5000 )); do
    i=$((i + 1))
    head -c 65536 /dev/urandom > "$work/src/f$i"
    start=$(date +%s%N)
    if ! dd if="$work/src/f$i" of="$mnt/f$i" bs=64k conv=fsync status=none 2>>"$work/writer.err"; then
      echo "error f$i" >> "$work/writer.log"; return 1
    fi
    end=$(date +%s%N)
    echo "ok f$i $start $(( (end - start) / 1000000 ))" >> "$work/writer.log"
  done
}
written() { awk '$1=="ok" { n++ } END { print n + 0 }' "$work/writer.log"; }
writes_beyond() { (( $(written) >= $1 )); }
no_write_error() { ! grep -q '^error' "$work/writer.log" 2>/dev/null; }
stall_between() { # longest time, in seconds, a write+fsync was under way between nanosecond $1 and $2 (or now)
  awk -v from="$1" -v to="${2:-9e30}" '$1=="ok" {
      end = $3 + $4 * 1000000; s = ($3 > from ? $3 : from); e = (end < to ? end : to)
      if (e - s > m) m = e - s
    } END { printf "%.2f\n", m / 1e9 }' "$work/writer.log"
}
: > "$work/writer.log"
writer & writer_pid=$!
wait_for 60 "the writer is under way" writes_beyond 20

# ---------------------------------------------------------------- 0: drain the holder (maintenance)
drained=$(holder)
before=$(written); t0=$(date +%s%N)
log "phase 0: draining $drained (holder of $floating and volume leader) after $before files"
in_ns "$drained" curl -s -m 30 -X POST -H "Authorization: Bearer $(cat "$work/$drained/data/admin.token")" \
  "http://$net.${drained#n}:9260/api/drain" >"$work/drain.json" || fail "the drain request failed"
wait_for 60 "writes resume after the drain" writes_beyond $((before + 30))
no_write_error || fail "an I/O error reached the filesystem after the drain: $(tail -3 "$work/writer.err")"
log "drained: $(cat "$work/drain.json")"
echo "stall drain $(stall_between "$t0")"
wait_for 60 "the new holder leads the volume" has_holder_leading_volume

# ---------------------------------------------------------------- 1: kill -9 the holder and leader
victim=$(holder)
[[ $(volume_leader "$victim") == "$victim" ]] || fail "the holder $victim does not lead the volume"
before=$(written); t1=$(date +%s%N)
log "phase 1: kill -9 $victim (holder of $floating and volume leader) after $before files"
kill -9 "$(cat "$work/$victim/pid")"
# The address dies with the process: its host must not keep answering for it (RST, ARP).
wait_for 5 "the killed node's host drops the address" not_on "$victim"
wait_for 60 "writes resume after the kill" writes_beyond $((before + 30))
no_write_error || fail "an I/O error reached the filesystem after the kill: $(tail -3 "$work/writer.err")"
log "new holder $(holder); stall $(stall_between "$t1") s"
echo "stall kill $(stall_between "$t1")"
t_back=$(date +%s%N)
start_node "$victim"
# Caught up: it has applied what the cluster had applied when it came back.
caught_up() { local a; a=$(applied "$victim"); (( a > 0 && a >= target )); }
target=$(applied "$(holder)")
wait_for 120 "$victim is back and has applied index $target" caught_up
log "$victim back, applied index $(applied "$victim")"

# ---------------------------------------------------------------- 2: cut the holder off
wait_for 60 "a holder leads the volume again" has_holder_leading_volume
cut=$(holder)
before=$(written); t2=$(date +%s%N)
log "phase 2: cutting $cut off the bridge after $before files"
ip -n "$tag-sw" link set "$tag${cut}p" down
wait_for 30 "the cut-off node gives up the floating portal" not_on "$cut"
log "$cut released $floating"
cut_applied=$(applied "$cut")
wait_for 60 "writes resume after the partition" writes_beyond $((before + 30))
no_write_error || fail "an I/O error reached the filesystem after the partition: $(tail -3 "$work/writer.err")"
echo "stall partition $(stall_between "$t2")"
echo "stall rejoin $(stall_between "$t_back" "$t2")"
# The initiator, waiting for answers from the cut-off node, would send nothing until its next ping
# (up to 5 s); the new holder resets that connection right after taking the address instead.
new_holder=$(holder)
log_time() { date -d "$(grep -a "$1" "$work/$new_holder/node.log" | tail -1 | cut -d' ' -f1)" +%s%3N; }
reconnect_ms=$(( $(log_time "logged in") - $(log_time "floating portal $floating/24 taken") ))
log "the initiator logged in to $new_holder ${reconnect_ms} ms after it took $floating"
(( reconnect_ms < 1500 )) || fail "the initiator reconnected ${reconnect_ms} ms after $new_holder took the address: its connection to $cut was not reset"
# No split brain: while cut off it applies nothing more (it can commit nothing without a majority).
sleep 2
[[ $(applied "$cut") == "$cut_applied" ]] || fail "$cut applied entries while cut off"
ip -n "$tag-sw" link set "$tag${cut}p" up
victim=$cut
target=$(applied "$(holder)")
wait_for 120 "$cut has applied index $target after the partition" caught_up
wait_for 60 "more writes after the partition healed" writes_beyond $(( $(written) + 20 ))

# ---------------------------------------------------------------- verify
touch "$work/stop"
wait "$writer_pid" || fail "the writer failed: $(tail -3 "$work/writer.err")"
writer_pid=
no_write_error || fail "an I/O error reached the filesystem"
umount "$mnt"
e2fsck -fn "$loopdev" >"$work/fsck.log" 2>&1 || fail "e2fsck: $(tail -5 "$work/fsck.log")"
mount "$loopdev" "$mnt"
count=0
while read -r _ file _; do
  cmp -s "$work/src/$file" "$mnt/$file" || fail "$file does not read back as fsynced"
  count=$((count + 1))
done < <(grep '^ok' "$work/writer.log")
umount "$mnt"
log "verified $count fsynced files; e2fsck clean"
echo "files $count"
