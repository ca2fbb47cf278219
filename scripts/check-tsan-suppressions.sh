#!/usr/bin/env bash
# Keeps scripts/tsan-suppressions.txt in step with the sources (docs/security.md, "Sanitizers"): every Swift
# file that keeps state in a Synchronization.Mutex, which ThreadSanitizer cannot see on Linux, is listed, unless
# it declares an `@unchecked Sendable` type (then Swift has not proven its state guarded, and TSan must look);
# and no listed file is missing or unchecked. Fails with the file names otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."
list=scripts/tsan-suppressions.txt
problems=0
while IFS= read -r file; do
    listed=0
    grep -qx "race_top:$file" "$list" && listed=1
    if grep -q '@unchecked Sendable' "$file"; then
        [ "$listed" = 1 ] && { echo "tsan suppressions: $file declares @unchecked Sendable; take it out of $list" >&2; problems=1; }
    elif [ "$listed" = 0 ]; then
        echo "tsan suppressions: $file keeps state in a Mutex; add race_top:$file to $list" >&2
        problems=1
    fi
done < <(grep -rlE 'Mutex(<|\()' Sources Tests --include='*.swift' | sort)
while IFS= read -r file; do
    [ -f "$file" ] || { echo "tsan suppressions: $list names $file, which does not exist" >&2; problems=1; }
done < <(sed -n 's/^race_top:\(.*\.swift\)$/\1/p' "$list")
[ "$problems" = 0 ] && echo "tsan suppressions: every Mutex-guarded file is listed"
exit "$problems"
