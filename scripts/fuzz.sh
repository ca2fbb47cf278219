#!/usr/bin/env bash
# Builds the libFuzzer targets in Fuzz/ and runs one (or all) for SECONDS each, starting from a scratch copy
# of its committed seed corpus (Fuzz/Corpus/<target>), so new corpus files never land in git.
#   bash scripts/fuzz.sh TARGET SECONDS     TARGET: json client-message publish-body policy jwt websocket | all
# Exits nonzero when a target crashes (ASan report, trap, timeout or out-of-memory); the crashing input is
# kept under Fuzz/.build/findings/<target>/ and its path printed. One summary line per target at the end.
# Build: release, every Swift module with -sanitize=fuzzer,address (libFuzzer's main, coverage, ASan),
# -parse-as-library (the targets have no main) and -enable-testing (the WebSocket target reaches the
# internal WebSocketConnectionHandler through @testable import). Builds and runs at nice 15.
# FUZZ_SKIP_BUILD=1 runs what was built last; FUZZ_ARGS adds libFuzzer flags (e.g. FUZZ_ARGS=-jobs=2).
set -euo pipefail
cd "$(dirname "$0")/../Fuzz"

targets=(json client-message publish-body policy jwt websocket)
product() {
    case "$1" in
        json) echo FuzzJSON ;;
        client-message) echo FuzzClientMessage ;;
        publish-body) echo FuzzPublishBody ;;
        policy) echo FuzzPolicy ;;
        jwt) echo FuzzJWT ;;
        websocket) echo FuzzWebSocket ;;
        *) echo "unknown target '$1'; one of: ${targets[*]} all" >&2; exit 2 ;;
    esac
}

if [ $# -ne 2 ]; then echo "usage: $0 TARGET|all SECONDS" >&2; exit 2; fi
if [ "$1" = all ]; then selected=("${targets[@]}"); else product "$1" >/dev/null; selected=("$1"); fi
seconds=$2

if [ "${FUZZ_SKIP_BUILD:-0}" != 1 ]; then
    echo "== fuzz build (release, -sanitize=fuzzer,address)"
    nice -n 15 swift build -c release \
        -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library -Xswiftc -enable-testing
fi
bin=$(swift build -c release --show-bin-path)

summary=()
failed=0
for target in "${selected[@]}"; do
    name=$(product "$target")
    work=.build/fuzz-work/$target
    findings=.build/findings/$target
    rm -rf "$work"
    mkdir -p "$work" "$findings"
    cp Corpus/"$target"/* "$work"/
    seeds=$(ls "$work" | wc -l)
    echo "== fuzz $target ($name) for ${seconds}s from $seeds seeds"
    log=.build/fuzz-work/$target.log
    # Leak checking is off: the Swift runtime keeps metadata and tasks alive to the end, which LeakSanitizer
    # reports; use-after-free, overflows, traps and timeouts are caught. FUZZ_ARGS adds libFuzzer flags.
    rc=0
    # shellcheck disable=SC2086
    ASAN_OPTIONS=detect_leaks=0 nice -n 15 "$bin/$name" "$work" \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$findings/" ${FUZZ_ARGS:-} >"$log" 2>&1 || rc=$?
    grep -E '^#[0-9]+ +(INITED|DONE)|ERROR|SUMMARY|artifact|stat::' "$log" || true
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    corpus=$(ls "$work" | wc -l)
    if [ "$rc" -ne 0 ]; then
        failed=$((failed + 1))
        summary+=("$target: CRASH (exit $rc) after ${execs:-?} runs; input: $(ls -t "$findings" | head -1 | sed "s|^|Fuzz/$findings/|")")
    else
        summary+=("$target: ${seconds}s, ${execs:-?} runs, ${rate:-?} exec/s, corpus $seeds -> $corpus files, no crash")
    fi
done

echo "== fuzz summary"
printf '%s\n' "${summary[@]}"
[ "$failed" -eq 0 ]
