#!/usr/bin/env bash
# Removes the build products of this project's own modules from Benchmarks/.build (for the given
# configuration, default release) so the next build recompiles them, keeping dependencies cached.
set -euo pipefail
cd "$(dirname "$0")/../Benchmarks"
config=${1:-release}
dir=.build/$(uname -m)-unknown-linux-gnu/$config
[ -d "$dir" ] || exit 0
for module in GatewayModel PolicyLanguage PolicyEngine EventBus GatewayTesting BenchmarkSupport PolicyDecisions PolicyProfile; do
    rm -rf "$dir/$module.build" "$dir"/Modules/"$module".*
done
rm -f ".build/$config.yaml" .build/build.db
