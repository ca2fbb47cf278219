#!/usr/bin/env bash
# Runs the policy-engine micro-benchmarks in release mode and prints the results table.
# Usage: scripts/benchmark.sh [extra `swift package benchmark` arguments]
#
# Our own modules are rebuilt from scratch each time: incremental release builds of the path
# dependency have produced stale cross-module code here after type-layout changes (a struct
# becoming a class), which crashed or mismeasured. Dependencies stay cached.
set -euo pipefail
cd "$(dirname "$0")/../Benchmarks"
bash ../scripts/clean-own-modules.sh release
swift package --disable-sandbox benchmark --target PolicyDecisions --format markdown "$@"
