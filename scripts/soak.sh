#!/usr/bin/env bash
# Soak (issue 11; not in CI): connection churn, non-reading replays, polls, single-event publishes, policy
# reloads and GDPR forgets at once against one gateway for MINUTES (default 10); fails if an acknowledged
# event is lost, RSS or open file descriptors grow after the warm-up, or the gateway logs an error.
# Usage: bash scripts/soak.sh [MINUTES] [--debug]    (--debug: the debug build instead of a release build)
set -euo pipefail
cd "$(dirname "$0")/.."
minutes=10
configuration=release
for argument in "$@"; do
    case "$argument" in
        --debug) configuration=debug ;;
        *) minutes=$argument ;;
    esac
done
python3 -c 'import jwt, websockets' 2>/dev/null ||
    python3 -m pip install --quiet --disable-pip-version-check PyJWT websockets
swift build -c "$configuration" --product realtime-gateway
gateway=.build/$configuration/realtime-gateway
work=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT
cp Tests/GatewayServerTests/Fixtures/policy.yaml "$work/policy.yaml"
secret="soak-$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')"
port=${PORT:-8950}
JWT_SECRET="$secret" POLICY_PATH="$work/policy.yaml" DATA_DIR="$work/data" POLICY_WATCH_INTERVAL=1 LOG_FORMAT=json OUTBOX_LIMIT_BYTES=1048576 \
    LOG_LEVEL=info "$gateway" serve --port "$port" 2>"$work/gateway.log" &
pid=$!
for _ in $(seq 1 300); do curl -fsS "http://127.0.0.1:$port/api/realtime/health/" >/dev/null 2>&1 && break; sleep 0.1; done
echo "== soak: $minutes min, $configuration build, $(nproc) cores, $(date -u +%Y-%m-%dT%H:%MZ)"
SOAK_URL="http://127.0.0.1:$port" SOAK_SECRET="$secret" SOAK_PID="$pid" SOAK_POLICY_FILE="$work/policy.yaml" \
    SOAK_LOG="$work/gateway.log" python3 scripts/soak.py "$minutes"
