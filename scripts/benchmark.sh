#!/usr/bin/env bash
# Runs the policy-engine micro-benchmarks in release mode and prints the results table.
# Usage: scripts/benchmark.sh [extra `swift package benchmark` arguments]
set -euo pipefail
cd "$(dirname "$0")/../Benchmarks"
swift package --disable-sandbox benchmark --target PolicyDecisions --format markdown "$@"
