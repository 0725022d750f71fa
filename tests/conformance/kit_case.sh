#!/usr/bin/env bash
# kit_case.sh SLUICE PLUGIN.so INI|- STATUS [REGEX]...: runs `sluice plugin
# test PLUGIN.so` (with --kit INI, where "@TMP@" is replaced by a fresh
# temporary directory; "-": no --kit) and checks that it exits with
# STATUS, that every REGEX matches a line of its output, and that every
# FAIL line matches one of the REGEXes that start with "^FAIL" (a broken
# plugin fails the check it breaks and no other).
set -u
sluice=$1 plugin=$2 ini=$3 want=$4
shift 4
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
args=()
if [ "$ini" != - ]; then
  sed "s|@TMP@|$tmp|g" "$ini" > "$tmp/kit.ini"
  args=(--kit "$tmp/kit.ini")
fi
"$sluice" plugin test "$plugin" "${args[@]}" > "$tmp/out" 2> "$tmp/err"
status=$?
cat "$tmp/out"
failures=0
fail() { echo "kit_case: $*" >&2; failures=$((failures + 1)); }
[ "$status" = "$want" ] || fail "exit status $status, expected $want; stderr: $(cat "$tmp/err")"
fail_patterns=()
for re in "$@"; do
  grep -Eq -- "$re" "$tmp/out" || fail "no line matches: $re"
  case $re in "^FAIL"*) fail_patterns+=("$re") ;; esac
done
while IFS= read -r line; do
  ok=0
  for re in "${fail_patterns[@]}"; do
    printf '%s\n' "$line" | grep -Eq -- "$re" && ok=1
  done
  [ $ok = 1 ] || fail "unexpected: $line"
done < <(grep '^FAIL' "$tmp/out")
[ $failures = 0 ]
