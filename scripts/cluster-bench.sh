#!/usr/bin/env bash
# Cluster benchmark on this machine (docs/benchmarks.md, "Two nodes on one Redis"): release builds of the
# gateway and the LoadGenerator, a redis-server with `appendonly yes` + `appendfsync always` (every 202 survives
# kill -9 of Redis), two gateway nodes on it, and for comparison one node on the embedded default. Everything
# shares the machine's 2 cores: Redis, both nodes, 1,000 subscribers and the publisher.
#   cross-node latency: single-event publishes into node A at a steady 10 and 50 events/s, 1,000 subscribers
#                       on node B (10k and 50k deliveries/s); publish->deliver and publish->202 percentiles
#   same-node latency:  the same with one node on the embedded default (SQLite log, in-process bus)
#   ingest:             16 publishers, one event per request, flat out for 10 s: the highest sustained durable
#                       publish rate, into the cluster (AOF always, then everysec) and into the embedded default
#   client cost:        PINGs and single-event appends through RedisConnection beside redis-benchmark
# Usage: bash scripts/cluster-bench.sh [SECONDS]   (seconds per latency run, default 20)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-20}
swift build -c release --product realtime-gateway
swift build -c release --product LoadGenerator
(cd Benchmarks && swift build -c release --product RedisThroughput)
gateway=$PWD/.build/release/realtime-gateway
generator=$PWD/.build/release/LoadGenerator
secret="cluster-bench-$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')"
work=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'; }
wait_for() { for _ in $(seq 1 200); do curl -fsS "$1/api/realtime/health/" >/dev/null 2>&1 && return 0; sleep 0.1; done; echo "no answer from $1" >&2; exit 1; }

start_redis() { # fsync policy
    local port
    port=$(free_port)
    mkdir -p "$work/redis-$1"
    redis-server --port "$port" --bind 127.0.0.1 --dir "$work/redis-$1" --save '' --appendonly yes --appendfsync "$1" \
        --maxmemory-policy noeviction --daemonize no --logfile "$work/redis-$1/redis.log" &
    pids+=($!)
    for _ in $(seq 1 100); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.05; done
    redis_url="redis://127.0.0.1:$port"
}

start_node() { # name, extra env...
    local name=$1 port
    shift
    port=$(free_port)
    mkdir -p "$work/$name"
    env "$@" JWT_SECRET="$secret" POLICY_PATH=Benchmarks/load/policy.yaml DATA_DIR="$work/$name" MAX_CONNECTIONS=50000 \
        LOG_LEVEL=warning OUTBOX_LIMIT_BYTES=67108864 "$gateway" serve --port "$port" 2>"$work/$name.log" &
    pids+=($!)
    node_url="http://127.0.0.1:$port"
    wait_for "$node_url"
}

stop_all() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    pids=()
}

echo "== $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, $(date -u +%Y-%m-%d), $(redis-server --version | awk '{print $3}')"

echo "== the Redis client's own cost, beside redis-benchmark (appendfsync always)"
start_redis always
redis-benchmark -p "${redis_url##*:}" -t ping_mbulk -c 16 -n 200000 -q
"$PWD/Benchmarks/.build/release/RedisThroughput" "$redis_url" --clients 16 --seconds 5
stop_all

echo "== two nodes on one Redis (appendfsync always): publish into A, 1,000 subscribers on B"
start_redis always
start_node a EVENT_BUS_BACKEND=redis REDIS_URL="$redis_url"
a=$node_url
start_node b EVENT_BUS_BACKEND=redis REDIS_URL="$redis_url"
b=$node_url
for rate in 10 50; do
    "$generator" latency --subscribers 1000 --rate "$rate" --seconds "$seconds" --publish single --url "$b" --publish-url "$a" --secret "$secret"
done
"$generator" ingest --publishers 16 --seconds 10 --url "$a" --secret "$secret"
stop_all

echo "== two nodes on one Redis (appendfsync everysec): ingest"
start_redis everysec
start_node a EVENT_BUS_BACKEND=redis REDIS_URL="$redis_url"
"$generator" ingest --publishers 16 --seconds 10 --url "$node_url" --secret "$secret"
stop_all

for durability in process fsync; do
    echo "== one node on the embedded default (EVENT_LOG_DURABILITY=$durability): 1,000 subscribers on the same node"
    start_node embedded-$durability EVENT_LOG_DURABILITY=$durability
    if [ "$durability" = process ]; then
        for rate in 10 50; do
            "$generator" latency --subscribers 1000 --rate "$rate" --seconds "$seconds" --publish single --url "$node_url" --secret "$secret"
        done
    fi
    "$generator" ingest --publishers 16 --seconds 10 --url "$node_url" --secret "$secret"
    stop_all
done
