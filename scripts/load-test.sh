#!/usr/bin/env bash
# End-to-end load test on this machine: release builds of the gateway (embedded default: in-process bus, SQLite
# log) and the LoadGenerator (Sources/LoadGenerator), all on loopback; with --with-nchan, Nchan
# (Debian nginx + libnginx-mod-nchan, memory store, 2 workers) driven by the same generator in the same run.
#
# Usage: bash scripts/load-test.sh [--with-nchan] [--smoke] [MODE...]
#   single-flat    1,000 subscribers, 16 publishers, one event per request, flat out: deliveries/s, loss, p99
#   single-steady  1,000 subscribers, 50 single events/s: publish->deliver and publish->202 percentiles
#   publish-rtt    one publisher, one event at a time, 0 and 1,000 subscribers: publish->202
#   sweep          offered single-event rates 10..800 events/s to 1,000 subscribers: the plot's points
#   ingest         durable publishes/s into the embedded log, 16 publishers, single events and batches of 100,
#                  with EVENT_LOG_DURABILITY=process and =fsync (gateway only)
#   fanout latency idle   the batched figures (gateway only): batches of 100, 100 subscribers at 500 events/s,
#                         memory per idle connection
# Default: every mode. The single-event modes write docs/benchmarks-single-event.md (the side-by-side table)
# and docs/benchmarks-fanout.png (the plot, Python matplotlib as test tooling).
# --smoke (CI): debug builds (no timing is asserted), 100 connections, 1,000 single events; exits 1 unless
# nothing was lost.
set -euo pipefail
cd "$(dirname "$0")/.."
with_nchan=0
smoke=0
modes=()
for argument in "$@"; do
    case "$argument" in
        --with-nchan) with_nchan=1 ;;
        --smoke) smoke=1 ;;
        *) modes+=("$argument") ;;
    esac
done
[ ${#modes[@]} -gt 0 ] || modes=(single-flat single-steady publish-rtt sweep ingest fanout latency idle)

bash scripts/install-build-deps.sh
config=release
[ "$smoke" = 1 ] && config=debug
swift build -c "$config" --product realtime-gateway
swift build -c "$config" --product LoadGenerator
gateway=$PWD/.build/$config/realtime-gateway
generator=$PWD/.build/$config/LoadGenerator
secret="load-test-$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')"
work=$(mktemp -d)
results=$work/results.jsonl
touch "$results"
server_pid=
cleanup() {
    [ -z "$server_pid" ] || kill "$server_pid" 2>/dev/null || true
    [ ! -f "$work/nchan/nginx.pid" ] || nginx -c "$work/nchan/nginx.conf" -p "$work/nchan" -s stop 2>/dev/null || true
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'; }
wait_for() { for _ in $(seq 1 200); do curl -fsS -o /dev/null "$1" 2>/dev/null && return 0; sleep 0.05; done; echo "no answer from $1" >&2; exit 1; }

start_gateway() {
    local port data
    port=$(free_port)
    data=$(mktemp -d -p "$work")
    EVENT_LOG_DURABILITY=${EVENT_LOG_DURABILITY:-process} JWT_SECRET="$secret" POLICY_PATH=Benchmarks/load/policy.yaml DATA_DIR="$data" \
        MAX_CONNECTIONS=50000 LOG_LEVEL=warning OUTBOX_LIMIT_BYTES=67108864 "$gateway" serve --port "$port" 2>"$data/gateway.log" &
    server_pid=$!
    url="http://127.0.0.1:$port"
    wait_for "$url/api/realtime/health/"
}

start_nchan() {
    command -v nginx >/dev/null && [ -f /usr/lib/nginx/modules/ngx_nchan_module.so ] || {
        if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
            apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light libnginx-mod-nchan >/dev/null
            service nginx stop >/dev/null 2>&1 || true
        else
            echo "--with-nchan needs Debian's nginx and libnginx-mod-nchan (apt-get install -y nginx-light libnginx-mod-nchan)" >&2
            exit 2
        fi
    }
    local port
    port=$(free_port)
    mkdir -p "$work/nchan"
    sed "s/@PORT@/$port/; s#@DIR@#$work/nchan#g" Benchmarks/load/nchan.conf >"$work/nchan/nginx.conf"
    nginx -c "$work/nchan/nginx.conf" -p "$work/nchan"
    url="http://127.0.0.1:$port"
    wait_for "$url/nchan-health"
}

stop_server() {
    if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; server_pid=; fi
    if [ -f "$work/nchan/nginx.pid" ]; then nginx -c "$work/nchan/nginx.conf" -p "$work/nchan" -s stop 2>/dev/null || true; sleep 0.5; rm -rf "$work/nchan"; fi
}

# Runs the generator against a fresh server of `target` (gateway or nchan); its RESULT lines go to $results.
run() {
    local target=$1
    shift
    if [ "$target" = nchan ]; then start_nchan; else start_gateway; fi
    # The server's pid: the gateway, or nginx's master (the generator adds its workers' CPU).
    local pid=${server_pid:-0}
    [ "$target" = nchan ] && pid=$(cat "$work/nchan/nginx.pid")
    "$generator" "$@" --target "$target" --url "$url" --secret "$secret" --pid "$pid" | tee "$work/out.txt" | grep -v '^RESULT'
    grep '^RESULT' "$work/out.txt" | sed "s/^RESULT //; s/}\$/,\"scenario\":\"$scenario\"}/" >>"$results" || true
    stop_server
}

targets=(gateway)
[ "$with_nchan" = 1 ] && targets+=(nchan)

echo "== $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, $(date -u +%Y-%m-%d), gateway $(git rev-parse --short HEAD)$([ "$with_nchan" = 1 ] && echo ", $(nginx -v 2>&1 | sed 's/.*: //') + nchan $(dpkg-query -W -f='${Version}' libnginx-mod-nchan 2>/dev/null)")"

if [ "$smoke" = 1 ]; then
    scenario=smoke
    run gateway flat --subscribers 100 --publishers 4 --events 1000
    python3 -c 'import json,sys; r=[json.loads(l) for l in open(sys.argv[1])][-1]; sys.exit(0 if r["delivered"] == r["expected"] else 1)' "$results" \
        || { echo "smoke: events were lost"; exit 1; }
    echo "smoke: 100 connections, 1,000 single events, nothing lost"
    exit 0
fi

for mode in "${modes[@]}"; do
    scenario=$mode
    case "$mode" in
        single-flat) for target in "${targets[@]}"; do run "$target" flat --subscribers 1000 --publishers 16 --events 2000; done ;;
        single-steady) for target in "${targets[@]}"; do run "$target" latency --subscribers 1000 --rate 50 --seconds 10 --publish single; done ;;
        publish-rtt)
            for target in "${targets[@]}"; do
                scenario=publish-rtt-0; run "$target" latency --subscribers 0 --rate 50 --seconds 10 --publish single
                scenario=publish-rtt-1000; run "$target" latency --subscribers 1000 --rate 50 --seconds 10 --publish single
            done
            # The floor under both: the same client POSTing to nginx's static `return 200`, no server work behind it.
            if [ "$with_nchan" = 1 ]; then
                scenario=publish-rtt-floor; run nchan latency --subscribers 0 --rate 50 --seconds 10 --publish single --publish-path /nchan-health
            fi ;;
        sweep)
            for rate in 10 50 100 200 400 800; do
                publishers=$(( rate >= 200 ? rate / 100 : 1 ))
                for target in "${targets[@]}"; do
                    run "$target" latency --subscribers 1000 --rate "$rate" --seconds 8 --publish single --publishers "$publishers"
                done
            done ;;
        ingest)
            for durability in process fsync; do
                for publish in single batch; do
                    scenario=ingest-$durability-$publish
                    EVENT_LOG_DURABILITY=$durability run gateway ingest --publishers 16 --seconds 10 --publish "$publish"
                done
            done ;;
        fanout) run gateway fanout --subscribers 1000 --events 1000 ;;
        latency) run gateway latency --subscribers 100 --rate 500 --seconds 10 ;;
        idle) run gateway idle --connections 10000 ;;
        *) echo "unknown mode $mode" >&2; exit 2 ;;
    esac
done

python3 -c 'import matplotlib' 2>/dev/null || python3 -m pip install --quiet --disable-pip-version-check matplotlib
python3 scripts/load-report.py "$results" docs/benchmarks-single-event.md docs/benchmarks-fanout.png
