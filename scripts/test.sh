#!/usr/bin/env bash
# The whole test suite: format lint, Swift tests (unit, property, fixtures, CLI as a subprocess), the default
# policy's own validate + test run through the CLI, and the JSON Schema agreement check.
# Ends with one plain line `N passed, N failed` summing all three.
set -euo pipefail
cd "$(dirname "$0")/.."
log=$(mktemp)
trap 'rm -f "$log"' EXIT

echo "== swift format lint (hummingbird's .swift-format)"
swift format lint --strict -r Sources Tests Benchmarks/Sources Benchmarks/Benchmarks Package.swift Benchmarks/Package.swift

echo "== swift test"
swift build --build-tests
swift test --skip-build 2>&1 | tee "$log"
swift_passed=$(sed -n 's/.*Test run with \([0-9]*\) tests\{0,1\} in .* passed.*/\1/p' "$log" | tail -1)
if [ -z "$swift_passed" ]; then echo "swift test reported no passing run"; exit 1; fi

echo "== realtime-gateway policy validate policies"
.build/debug/realtime-gateway policy validate policies

echo "== realtime-gateway policy test policies"
.build/debug/realtime-gateway policy test policies | tee "$log"
policy_passed=$(tail -1 "$log" | sed -n 's/^\([0-9]*\) passed, 0 failed$/\1/p')
if [ -z "$policy_passed" ]; then echo "policy test did not pass"; exit 1; fi

echo "== JSON Schema agreement (python jsonschema)"
python3 Tests/schema/check_schema.py | tee "$log"
schema_passed=$(tail -1 "$log" | sed -n 's/^\([0-9]*\) passed, 0 failed$/\1/p')
if [ -z "$schema_passed" ]; then echo "schema check did not pass"; exit 1; fi

echo "== summary: swift tests $swift_passed, policy cases $policy_passed, schema files $schema_passed"
echo "$((swift_passed + policy_passed + schema_passed)) passed, 0 failed"
