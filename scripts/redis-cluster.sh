#!/usr/bin/env bash
# redis-cluster.sh: a throwaway Redis Cluster on 127.0.0.1 for tracklink's
# tests, CI and load runs. Nothing here touches another Redis.
#
#   scripts/redis-cluster.sh start DIR BASEPORT [REPLICAS]
#       Starts 3 masters on BASEPORT..BASEPORT+2 and, with REPLICAS=1, one
#       replica each on BASEPORT+3..BASEPORT+5 (6 nodes), all bound to
#       127.0.0.1, no persistence, node timeout 2 s, their config, logs and
#       pidfiles in DIR (created). BASEPORT "auto" picks the first free
#       range from 17000 up in steps of 10. Every port and its cluster bus
#       port (port + 10000) must be free. Then it creates the cluster
#       (redis-cli --cluster create … --cluster-yes), waits (at most 30 s)
#       until every node reports cluster_state:ok with all 16384 slots
#       covered and every replica is in sync, and prints the seed addresses
#       (the masters) on stdout, comma-separated:
#
#           export TRACKLINK_REDIS_CLUSTER=$(scripts/redis-cluster.sh start /tmp/tlc 17000 1)
#           go test -race ./...
#           scripts/redis-cluster.sh stop /tmp/tlc
#
#       On failure it stops what it started and exits non-zero.
#
#   scripts/redis-cluster.sh stop DIR
#       Kills the nodes by their pidfiles in DIR (waits for them to exit)
#       and removes DIR. Only a DIR made by start is removed.
#
# Needs redis-server and redis-cli (Debian: redis-server, redis-tools).
set -euo pipefail

usage() {
  echo "usage: $0 start DIR BASEPORT|auto [REPLICAS]" >&2
  echo "       $0 stop DIR" >&2
  exit 2
}
log() { echo "redis-cluster: $*" >&2; }

marker=.tracklink-redis-cluster

# port_busy PORT: something accepts connections on 127.0.0.1:PORT.
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

range_free() {
  local base=$1 n=$2 p
  for ((p = base; p < base + n; p++)); do
    if port_busy "$p" || port_busy $((p + 10000)); then return 1; fi
  done
}

stop_nodes() {
  local dir=$1 pidfile pid pids=()
  for pidfile in "$dir"/*.pid; do
    [ -e "$pidfile" ] || continue
    pid=$(cat "$pidfile" 2>/dev/null || true)
    if [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null; then
      kill -KILL "$pid" 2>/dev/null || true
      pids+=("$pid")
    fi
  done
  local _
  for _ in $(seq 50); do
    local alive=0
    for pid in "${pids[@]+"${pids[@]}"}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ "$alive" = 0 ] && return 0
    sleep 0.1
  done
  log "some nodes in $dir did not exit"
}

cluster_ready() {
  local replicas=$1 p info
  shift
  for p in "$@"; do
    info=$(redis-cli -h 127.0.0.1 -p "$p" cluster info 2>/dev/null) || return 1
    grep -q '^cluster_state:ok' <<<"$info" || return 1
    grep -q '^cluster_slots_ok:16384' <<<"$info" || return 1
  done
  if [ "$replicas" -gt 0 ]; then
    for p in "${@:4}"; do
      redis-cli -h 127.0.0.1 -p "$p" info replication 2>/dev/null | grep -q '^master_link_status:up' || return 1
    done
  fi
}

start() {
  [ $# -ge 2 ] || usage
  local dir=$1 base=$2 replicas=${3:-0}
  [[ "$replicas" =~ ^[01]$ ]] || { log "REPLICAS must be 0 or 1"; exit 2; }
  local n=$((3 * (replicas + 1)))
  if [ "$base" = auto ]; then
    base=17000
    until range_free "$base" "$n"; do
      base=$((base + 10))
      [ "$base" -lt 20000 ] || { log "no free port range in 17000..20000"; exit 1; }
    done
  fi
  [[ "$base" =~ ^[0-9]+$ ]] && [ "$base" -ge 1024 ] && [ $((base + n + 10000)) -le 65535 ] ||
    { log "BASEPORT must be a number in 1024..$((65535 - 10000 - n))"; exit 2; }
  range_free "$base" "$n" || { log "a port in $base..$((base + n - 1)) (or its bus port +10000) is in use"; exit 1; }

  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  touch "$dir/$marker"
  trap 'log "failed; stopping the nodes"; stop_nodes "$dir"' ERR

  local ports=() p
  for ((p = base; p < base + n; p++)); do
    ports+=("$p")
    redis-server --cluster-enabled yes --cluster-config-file "$dir/nodes-$p.conf" \
      --cluster-node-timeout 2000 --bind 127.0.0.1 --port "$p" --daemonize yes \
      --save "" --appendonly no --dir "$dir" --logfile "$dir/$p.log" --pidfile "$dir/$p.pid" >&2
  done
  local _
  for p in "${ports[@]}"; do
    for _ in $(seq 50); do
      redis-cli -h 127.0.0.1 -p "$p" ping >/dev/null 2>&1 && break
      sleep 0.1
    done
    redis-cli -h 127.0.0.1 -p "$p" ping >/dev/null 2>&1 || { log "node $p did not start (see $dir/$p.log)"; false; }
  done

  local addrs=()
  for p in "${ports[@]}"; do addrs+=("127.0.0.1:$p"); done
  redis-cli --cluster create "${addrs[@]}" --cluster-replicas "$replicas" --cluster-yes >"$dir/create.log" 2>&1 ||
    { log "cluster create failed:"; cat "$dir/create.log" >&2; false; }

  local ok=0
  for _ in $(seq 300); do
    if cluster_ready "$replicas" "${ports[@]}"; then ok=1; break; fi
    sleep 0.1
  done
  [ "$ok" = 1 ] || { log "cluster not ready after 30 s"; false; }
  trap - ERR
  log "cluster up: ${n} nodes on ports $base..$((base + n - 1)) in $dir"
  local IFS=,
  echo "${addrs[*]:0:3}"
}

stop() {
  [ $# -eq 1 ] || usage
  local dir=$1
  [ -d "$dir" ] || return 0
  [ -e "$dir/$marker" ] || { log "$dir was not made by $0 start; not touching it"; exit 1; }
  stop_nodes "$dir"
  rm -rf -- "$dir"
}

[ $# -ge 1 ] || usage
cmd=$1
shift
case "$cmd" in
  start) start "$@" ;;
  stop) stop "$@" ;;
  *) usage ;;
esac
