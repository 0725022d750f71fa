#!/usr/bin/env bash
# fuzz.sh MINUTES: fuzzes each harness of tests/fuzz for MINUTES minutes
# (JOBS=N at a time, 1 by default; HARNESSES="fuzz_x ..." for some only),
# each from a copy of its seed corpus in a temporary directory: what it
# finds is not added to the repository. Builds build-fuzz/ (clang,
# -DSLUICE_FUZZ=ON) first. Prints per harness the executions, executions
# per second, the corpus size at the end and the crashes (a crash, leak,
# timeout or out-of-memory input, kept under the printed directory, which
# is removed when none did), and exits nonzero when any harness crashed.
set -euo pipefail
cd "$(dirname "$0")/.."
all="fuzz_config fuzz_jsonl fuzz_blob fuzz_retention fuzz_clickhouse
     fuzz_bson_json fuzz_wire"

if [ "${1:-}" = "--one" ]; then # one harness: bench/fuzz.sh --one H SECONDS DIR
    h=$2 seconds=$3 dir=$4/$2
    mkdir -p "$dir/corpus" "$dir/artifacts"
    cp tests/fuzz/corpus/"$h"/* "$dir/corpus/"
    rc=0
    build-fuzz/tests/fuzz/"$h" -max_total_time="$seconds" -timeout=10 \
        -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$dir/artifacts/" "$dir/corpus" >"$dir/log" 2>&1 ||
        rc=$?
    stat() { sed -n "s/^stat::$1: *//p" "$dir/log" | tail -1; }
    crashes=$(find "$dir/artifacts" -type f | wc -l)
    [ "$rc" = 0 ] || [ "$crashes" -gt 0 ] || crashes=1
    printf '%s %s %s %s %s\n' "$h" "$(stat number_of_executed_units)" \
        "$(stat average_exec_per_sec)" "$(find "$dir/corpus" -type f | wc -l)" \
        "$crashes" >"$dir/result"
    exit 0
fi

minutes=${1:?usage: bench/fuzz.sh MINUTES}
jobs=${JOBS:-1}
harnesses=${HARNESSES:-$all}
CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DSLUICE_TESTS=OFF -DSLUICE_FUZZ=ON >/dev/null
cmake --build build-fuzz -j "$(nproc)" --target fuzzers >/dev/null
work=$(mktemp -d /tmp/sluice-fuzz.XXXXXX)
seconds=$(awk "BEGIN { printf \"%d\", $minutes * 60 }")
echo "fuzzing each harness ${minutes} min, ${jobs} at a time, in $work"
printf '%s\n' $harnesses |
    xargs -P "$jobs" -I{} bash "$0" --one {} "$seconds" "$work"

failed=0
printf '| harness | executions | exec/s | corpus at the end | crashes |\n'
printf '|---|---|---|---|---|\n'
for h in $harnesses; do
    read -r name runs rate corpus crashes <"$work/$h/result"
    printf '| %s | %s | %s | %s | %s |\n' "$name" "${runs:-?}" "${rate:-?}" \
        "$corpus" "$crashes"
    if [ "$crashes" != 0 ]; then
        failed=1
        echo "  $h: see $work/$h/log and $work/$h/artifacts/" >&2
    fi
done
[ "$failed" = 1 ] || rm -rf "$work" # a crash's inputs and logs are kept
exit "$failed"
