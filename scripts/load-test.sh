#!/usr/bin/env bash
# End-to-end load test on this machine: a release build of the gateway (memory bus, SQLite log) and the
# LoadGenerator (Benchmarks/Sources/LoadGenerator), both on loopback. Prints fan-out throughput to 1,000
# subscribers, publish->deliver latency at a steady 50k deliveries/s, and resident memory per idle connection.
# Usage: bash scripts/load-test.sh [fanout|latency|idle]...   (default: all three)
set -euo pipefail
cd "$(dirname "$0")/.."
modes=("$@")
[ ${#modes[@]} -gt 0 ] || modes=(fanout latency idle)

swift build -c release --product realtime-gateway
(cd Benchmarks && swift build -c release --product LoadGenerator)
gateway=.build/release/realtime-gateway
generator=Benchmarks/.build/release/LoadGenerator
secret="load-test-$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')"
port=${PORT:-8900}

run() {
    local work
    work=$(mktemp -d)
    EVENT_LOG_DURABILITY=${EVENT_LOG_DURABILITY:-process} JWT_SECRET="$secret" POLICY_PATH=Benchmarks/load/policy.yaml DATA_DIR="$work" MAX_CONNECTIONS=50000 \
        LOG_LEVEL=warning OUTBOX_LIMIT_BYTES=67108864 "$gateway" serve --port "$port" 2>"$work/gateway.log" &
    local pid=$!
    for _ in $(seq 1 100); do curl -fsS "http://127.0.0.1:$port/api/realtime/health/" >/dev/null 2>&1 && break; sleep 0.1; done
    "$generator" "$@" --url "http://127.0.0.1:$port" --secret "$secret" --pid "$pid" || true
    kill "$pid"; wait "$pid" 2>/dev/null || true
    rm -rf "$work"
}

echo "== $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, $(date -u +%Y-%m-%d)"
for mode in "${modes[@]}"; do
    case "$mode" in
        fanout) run fanout --subscribers 1000 --events 1000 ;;
        latency) run latency --subscribers 100 --rate 500 --seconds 10 ;;
        idle) run idle --connections 10000 ;;
        *) echo "unknown mode $mode" >&2; exit 2 ;;
    esac
done
