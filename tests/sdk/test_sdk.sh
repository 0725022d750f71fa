#!/usr/bin/env bash
# test_sdk.sh BUILD_DIR SOURCE_DIR [SANITIZE]: the SDK from outside. Installs
# the build into a temporary prefix; builds the example plugins as the
# install ships them (share/doc/sluice/sdk/examples) out of tree against
# that prefix alone, with CMake (find_package(SluicePlugin)) and with
# pkg-config (sluice-plugin.pc), both as strict C11 and the pkg-config way
# as GNU C11 too; checks what they export and link; runs the conformance
# kit (`sluice plugin test`) on each; then runs a pipe jsonl_source -> hub ->
# jsonl_sink with the installed `sluice run` while lines are appended to
# the input, through two SIGKILLs, a SIGTERM and a flush cut short, and
# checks that the output files equal the input files: nothing lost,
# nothing twice. SANITIZE=ON builds the examples with ASan + UBSan too.
set -u
build=$1 src=$2 sanitize=${3:-OFF}
. "$(dirname "$0")/../lib.sh"
die() { echo "FAIL: $*"; [ -f "$tmp/run.log" ] && tail -20 "$tmp/run.log"; exit 1; }
started=$SECONDS

# ---- install ----
prefix=$tmp/prefix
cmake --install "$build" --prefix "$prefix" > "$tmp/install.log" 2>&1 ||
  die "cmake --install: $(cat "$tmp/install.log")"
config=$(find "$prefix" -path '*/cmake/SluicePlugin/SluicePluginConfig.cmake')
pc=$(find "$prefix" -name sluice-plugin.pc)
[ -n "$config" ] || die "no SluicePluginConfig.cmake installed"
[ -n "$pc" ] || die "no sluice-plugin.pc installed"
plugin_dir=$(dirname "$(find "$prefix" -path '*/sluice/plugins/retention.so')")
examples=$prefix/share/doc/sluice/sdk/examples
[ -f "$examples/README.md" ] || die "the examples are not installed in $examples"
[ -f "$prefix/share/doc/sluice/docs/writing-a-plugin.md" ] || die "the guide is not installed"

cflags="-Wall -Wextra -Werror"
ldflags=""
if [ "$sanitize" = ON ]; then
  cflags="$cflags -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
  ldflags="-fsanitize=address,undefined"
fi

# ---- the examples, out of tree, with CMake ----
for ex in count_source jsonl_source jsonl_sink; do
  b=$tmp/build-$ex
  cmake -S "$examples/$ex" -B "$b" -DCMAKE_PREFIX_PATH="$prefix" \
        -DCMAKE_INSTALL_PREFIX="$prefix" -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF \
        -DCMAKE_C_FLAGS="$cflags" -DCMAKE_MODULE_LINKER_FLAGS="$ldflags" \
        > "$tmp/$ex.log" 2>&1 || die "$ex: cmake configure: $(cat "$tmp/$ex.log")"
  grep -q "^SluicePlugin_DIR:PATH=$prefix/" "$b/CMakeCache.txt" ||
    fail "$ex: SluicePlugin not found in the prefix: $(grep SluicePlugin_DIR "$b/CMakeCache.txt")"
  cmake --build "$b" > "$tmp/$ex.log" 2>&1 || die "$ex: build: $(cat "$tmp/$ex.log")"
  # as the pkg-config recipe builds: strict C11
  grep -rqw -- "-std=c11" "$b/CMakeFiles/$ex.dir" || fail "$ex: CMake does not build with -std=c11"
  grep -rq -- "$src/sdk/include" "$b" && fail "$ex: the build used the source tree's headers"
  cmake --install "$b" > "$tmp/$ex.log" 2>&1 || die "$ex: install: $(cat "$tmp/$ex.log")"
  so=$plugin_dir/$ex.so
  [ -f "$so" ] || die "$ex: not installed as $so"
  exports=$(nm -D --defined-only "$so" | awk '$2 ~ /^[TDBR]$/ {print $3}')
  [ "$exports" = sluice_module_descriptor ] || fail "$ex exports: $exports"
  needed=$(readelf -d "$so" | sed -n 's/.*NEEDED.*\[\(.*\)\]/\1/p' | grep -v -e '^libc\.' -e asan -e ubsan)
  [ -z "$needed" ] || fail "$ex links more than libc: $needed"
  readelf -d "$so" | grep -q TEXTREL && fail "$ex is not position-independent"
done

# ---- with pkg-config, as strict C11 (the recipe's) and as GNU C11 ----
export PKG_CONFIG_PATH=$(dirname "$pc")
[ "$(pkg-config --variable=pluginsdir sluice-plugin)" = "$plugin_dir" ] ||
  fail "pluginsdir $(pkg-config --variable=pluginsdir sluice-plugin) is not $plugin_dir"
[ -z "$(pkg-config --libs sluice-plugin | tr -d ' ')" ] || fail "sluice-plugin.pc has Libs"
for std in c11 gnu11; do
  mkdir "$tmp/pc-$std"
  for ex in count_source jsonl_source jsonl_sink; do
    so=$tmp/pc-$std/$ex.so
    # shellcheck disable=SC2046,SC2086
    cc $(pkg-config --cflags sluice-plugin) -std=$std $cflags -shared -Wl,--no-undefined $ldflags \
       -o "$so" "$examples/$ex/$ex.c" || die "pkg-config build of $ex with -std=$std"
    [ "$(nm -D --defined-only "$so" | awk '$2 == "T" {print $3}')" = sluice_module_descriptor ] ||
      fail "pkg-config build of $ex exports more than the descriptor"
  done
  list=$(cd / && SLUICE_PLUGIN_PATH=$tmp/pc-$std "$prefix/bin/sluice" plugins list 2>&1)
  for ex in count_source jsonl_source jsonl_sink; do
    grep -q "^$ex .*$tmp/pc-$std/$ex.so" <<<"$list" || fail "pkg-config build of $ex (-std=$std) not loaded: $list"
  done
done
# an option entry whose type does not fit its field does not compile
cat > "$tmp/fields.c" <<'C'
#include <sluice/sluice.h>
struct config { int64_t level; int small; const char *path; bool on; };
const sluice_option options[] = {
    {SLUICE_OPTION_FIELD(INT, struct config, level), .name = "level"},
    {SLUICE_OPTION_FIELD(STRING, struct config, path), .name = "path"},
    {SLUICE_OPTION_FIELD(BOOL, struct config, on), .name = "on"},
#ifdef WRONG
    {SLUICE_OPTION_FIELD(INT, struct config, small), .name = "small"},
#endif
    {0},
};
C
# shellcheck disable=SC2046,SC2086
cc $(pkg-config --cflags sluice-plugin) -std=c11 -pedantic $cflags -c -o "$tmp/fields.o" "$tmp/fields.c" ||
  fail "SLUICE_OPTION_FIELD refuses fields of the right size"
# shellcheck disable=SC2046,SC2086
out=$(cc $(pkg-config --cflags sluice-plugin) -std=c11 $cflags -DWRONG -c -o "$tmp/fields.o" "$tmp/fields.c" 2>&1) &&
  fail "an INT option on an int field compiled"
grep -q "option field .*small.*: wrong size for option type INT" <<<"$out" ||
  fail "the wrong field size is not named: $out"
echo "built and installed out of tree in $((SECONDS - started))s"

# ---- the conformance kit on each, with the installed sluice ----
mkdir -p "$tmp/kit/in"
printf '{"_id":%d,"v":"a"}\n' 1 2 3 4 5 6 7 > "$tmp/kit/in/orders.jsonl"
printf '{"x":%d}\n' 1 2 3 4 5 > "$tmp/kit/in/events.jsonl"
cat > "$tmp/kit/jsonl_source.ini" <<INI
[source jsonl_source]
directory = $tmp/kit/in
poll_interval = 20ms
[conformance jsonl_source]
batch_records = 2
cdc_time = 2s
expect_changes = 6
changes = for i in 1 2 3; do echo "{\"_id\":\"c\$i\"}" >> $tmp/kit/in/orders.jsonl; echo "{\"y\":\$i}" >> $tmp/kit/in/events.jsonl; done
INI
cat > "$tmp/kit/jsonl_sink.ini" <<INI
[sink jsonl_sink]
directory = $tmp/kit/out
[conformance jsonl_sink]
verify = cat $tmp/kit/out/sluice_conformance.jsonl
INI
cat > "$tmp/kit/count_source.ini" <<INI
[source count_source]
[conformance count_source]
cdc_time = 1s
expect_changes = 1000
INI
for ex in count_source jsonl_source jsonl_sink; do
  "$prefix/bin/sluice" plugin test "$plugin_dir/$ex.so" --kit "$tmp/kit/$ex.ini" \
    > "$tmp/kit/$ex.out" 2>&1 || fail "$ex: conformance kit: $(grep -v ^PASS "$tmp/kit/$ex.out")"
  # (count_source has no snapshot to check)
  skipped=$(grep "^SKIP" "$tmp/kit/$ex.out" | grep -v "^SKIP source count_source: snapshot\.")
  [ -z "$skipped" ] || fail "$ex: conformance kit skipped: $skipped"
done
echo "conformance kit run in $((SECONDS - started))s"

# ---- a pipe from jsonl_source to jsonl_sink with the installed sluice ----
# the installed program, from elsewhere, with no plugin path: it finds
# the plugins installed beside it
sluice() { (cd / && exec env -u SLUICE_PLUGIN_PATH "$prefix/bin/sluice" "$@"); }
export SLUICE_STORE=sqlite:$tmp/sluice.db
in=$tmp/in out=$tmp/out
mkdir "$in"
# add_lines N: N more lines to each input file, orders with an _id, events
# without (keyed by line number); numbered on from the lines there are
add_lines() {
  local i first
  first=$(($(cat "$in/orders.jsonl" 2>/dev/null | wc -l) + 1))
  for ((i = first; i < first + $1; i++)); do
    printf '{"_id":%d,"item":"thing %d","qty":%d}\n' $i $i $((i % 7))
  done >> "$in/orders.jsonl"
  first=$(($(cat "$in/events.jsonl" 2>/dev/null | wc -l) + 1))
  for ((i = first; i < first + $1; i++)); do
    printf '{"at":%d,"kind":"click","tags":["a",{"b":"}"}]}\n' $i
  done >> "$in/events.jsonl"
}
# appends N lines to each file in chunks of 20, one chunk every 50ms
append_slowly() {
  local n=$1
  while [ "$n" -gt 0 ]; do add_lines 20; n=$((n - 20)); sleep 0.05; done
}
same() { cmp -s "$in/orders.jsonl" "$out/orders.jsonl" && cmp -s "$in/events.jsonl" "$out/events.jsonl"; }
lines_out() { cat "$out"/*.jsonl 2>/dev/null | wc -l; }
some_out() { [ "$(lines_out)" -gt 0 ]; }
state() { sluice status files --json | sed -n 's/.*"state":"\([a-z]*\)".*/\1/p'; }
is_running() { [ "$(state)" = running ]; }

cat > "$tmp/files.ini" <<INI
[store]
url = sqlite:$tmp/sluice.db

[pipe files]
source = jsonl_source
sink = jsonl_sink
sync_interval = 1s
pull_batch_size = 200

[pipe files.source]
directory = $in
poll_interval = 20ms

[pipe files.sink]
directory = $out
INI
sluice check "$tmp/files.ini" > "$tmp/check.log" 2>&1 || die "check: $(cat "$tmp/check.log")"
# (the background subshell execs the program: $! is the program's pid)
start() {
  (cd / && exec env -u SLUICE_PLUGIN_PATH "$prefix/bin/sluice" run "$tmp/files.ini") \
    >> "$tmp/run.log" 2>&1 & pid=$!
}

# lines appended while the snapshot starts: read by the snapshot and
# again by CDC, they are written once
add_lines 6000
append_slowly 400 & appender=$!
start
# SIGKILL in the snapshot (or just after it, when the machine is fast)
wait_for "the snapshot to start" 30 some_out
kill -9 $pid; wait $pid 2>/dev/null
echo "killed after $(lines_out) snapshot lines"
start
wait $appender
wait_for "the snapshot after a restart" 60 same
is_running || fail "pipe is $(state), not running"

# SIGKILL while lines are being appended and followed
append_slowly 600 & appender=$!
sleep 1.5
kill -9 $pid; wait $pid 2>/dev/null
start
wait $appender
wait_for "appended lines after a restart" 60 same
# jsonl_source times its changes (the record's changed_at_ms): each
# table's lag is known once its changes are counted
has_lag() { sluice status files --json | grep -Eq "\"name\":\"$1\"[^}]*\"lag_ms\":[0-9]"; }
for t in orders events; do
  wait_for "the lag of $t" 30 has_lag $t
done

# SIGTERM stops cleanly
kill -TERM $pid; wait $pid; [ $? = 0 ] || fail "SIGTERM exit status"
grep -q "stopped" "$tmp/run.log" || fail "no clean stop"

# a flush cut short: bytes after the sink's last state are cut off
printf '{"_id":"half a line' >> "$out/orders.jsonl"
add_lines 50
start
wait_for "lines after a cut-short flush" 60 same
append_slowly 200
wait_for "the last appended lines" 60 same
kill -TERM $pid; wait $pid; [ $? = 0 ] || fail "SIGTERM exit status"

for t in orders events; do
  cmp "$in/$t.jsonl" "$out/$t.jsonl" || fail "$t: output differs from input"
  [ "$(sort "$out/$t.jsonl" | uniq -d | wc -l)" = 0 ] || fail "$t: duplicate lines"
done
echo "$(wc -l < "$out/orders.jsonl") orders, $(wc -l < "$out/events.jsonl") events copied in $((SECONDS - started))s"
[ $failures = 0 ] || tail -30 "$tmp/run.log"
finish sdk
