#!/usr/bin/env bash
# quickstart-jsonl.sh: a pipeline that needs no server. Builds sluice,
# installs it into a temporary prefix, builds the SDK's example plugins
# (sdk/examples: jsonl_source, jsonl_sink) out of tree against that prefix
# alone, and runs examples/quickstart-jsonl.ini with the installed `sluice
# run` for a few seconds while lines are appended to the input files; then
# prints the output files, which equal the input files.
set -euo pipefail
cd "$(dirname "$0")/.."
bash .ci/install-deps
build=${BUILD:-build}
cmake -S . -B "$build" >/dev/null
cmake --build "$build" -j "$(nproc 2>/dev/null || echo 2)" >/dev/null

tmp=$(mktemp -d)
cleanup() {
  [ -n "${run_pid:-}" ] && kill "$run_pid" 2>/dev/null && wait "$run_pid" || true
  rm -rf "$tmp"
}
trap cleanup EXIT
prefix=$tmp/prefix
# the installed program, run in the temporary directory (the file's plugin
# directories are relative to it), finds the plugins installed beside it
sluice() { (cd "$tmp" && exec env -u SLUICE_PLUGIN_PATH "$prefix/bin/sluice" "$@"); }

echo "== cmake --install $build --prefix $prefix"
cmake --install "$build" --prefix "$prefix" >/dev/null
for ex in jsonl_source jsonl_sink; do
  echo "== building sdk/examples/$ex out of tree, against $prefix alone"
  cmake -S "sdk/examples/$ex" -B "$tmp/build-$ex" -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
  cmake --build "$tmp/build-$ex" >/dev/null
  cmake --install "$tmp/build-$ex" --prefix "$prefix" >/dev/null
done
sluice plugins list

mkdir -p "$tmp/jsonl/in"
printf '{"_id":%d,"customer":"c%d","total":%d.50}\n' 1 7 12 2 3 40 3 7 9 > "$tmp/jsonl/in/orders.jsonl"
printf '{"page":"/","at":"2024-05-01T10:00:0%dZ"}\n' 1 2 > "$tmp/jsonl/in/clicks.jsonl"
cp examples/quickstart-jsonl.ini "$tmp/"
sluice check "$tmp/quickstart-jsonl.ini"

echo "== sluice run: the snapshot, then lines appended for a few seconds"
(cd "$tmp" && exec env -u SLUICE_PLUGIN_PATH "$prefix/bin/sluice" run quickstart-jsonl.ini) \
  > "$tmp/run.log" 2>&1 &
run_pid=$!
for i in 4 5 6 7 8; do
  sleep 1
  printf '{"_id":%d,"customer":"c%d","total":%d.00}\n' "$i" "$i" "$((i * 3))" >> "$tmp/jsonl/in/orders.jsonl"
  printf '{"page":"/item/%d","at":"2024-05-01T10:01:0%dZ"}\n' "$i" "$i" >> "$tmp/jsonl/in/clicks.jsonl"
done
sleep 2
sluice status files --config "$tmp/quickstart-jsonl.ini"
kill -TERM "$run_pid"; wait "$run_pid"; run_pid=
echo "== stopped cleanly; the output files:"
for t in orders clicks; do
  echo "-- jsonl/out/$t.jsonl"
  cat "$tmp/jsonl/out/$t.jsonl"
  cmp -s "$tmp/jsonl/in/$t.jsonl" "$tmp/jsonl/out/$t.jsonl" && echo "(equal to jsonl/in/$t.jsonl)"
done
