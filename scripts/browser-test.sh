#!/usr/bin/env bash
# The browser test: starts the built gateway on localhost:8000 (the reference RealtimeClient hard-codes
# ws://localhost:8000/ws) with the default policy and a throw-away secret and data directory, runs
# Tests/browser/run_browser_test.py in headless Chromium, and stops the gateway. Ends with `N passed, N failed`.
set -euo pipefail
cd "$(dirname "$0")/.."
binary=${GATEWAY_BINARY:-.build/debug/realtime-gateway}
work=$(mktemp -d)
export JWT_SECRET="browser-test-$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')"

if (exec 3<>/dev/tcp/127.0.0.1/8000) 2>/dev/null; then
    echo "port 8000 is in use; the reference RealtimeClient needs it for the browser test" >&2
    exit 1
fi
POLICY_PATH=policies DATA_DIR="$work/data" LOG_FORMAT=json LOG_LEVEL=debug POLICY_AUDIT_ALLOWED=true "$binary" serve --port 8000 >"$work/stdout.log" 2>"$work/stderr.log" &
gateway=$!
trap 'kill "$gateway" 2>/dev/null || true; wait "$gateway" 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 1 100); do
    if curl -fsS http://127.0.0.1:8000/api/realtime/health/ >/dev/null 2>&1; then break; fi
    sleep 0.1
done

status=0
python3 Tests/browser/run_browser_test.py --secret "$JWT_SECRET" --screenshot "${SCREENSHOT:-$work/browser.png}" || status=$?
if [ "$status" -ne 0 ]; then
    echo "== gateway log (last 40 lines)"
    tail -40 "$work/stderr.log"
fi
# The whole scenario ran at debug level with every decision audited: its log must hold no secret,
# no token and none of the personal data the scenario published.
if grep -q "$JWT_SECRET" "$work/stderr.log" "$work/stdout.log" || grep -q 'eyJ' "$work/stderr.log"; then
    echo "the gateway log contains a secret or a token" >&2
    status=1
fi
if grep -q 'pii-probe-4711@example.com' "$work/stderr.log" "$work/stdout.log"; then
    echo "the gateway log contains personal data from an event" >&2
    status=1
fi
echo "log scan: $(wc -l <"$work/stderr.log") log lines checked for secrets, tokens and personal data" >&2
exit "$status"
