#!/usr/bin/env bash
# kit_secrets.sh SLUICE MEMORY.so: the kit's report shows a plugin's
# messages as every surface does: its secrets masked (an option marked
# secret, the password of a URL option, a key=value password) and no
# control character, so a message cannot forge a line of its own.
set -u
sluice=$1 plugin=$2
. "$(dirname "$0")/../lib.sh"
cat > "$tmp/kit.ini" <<INI
[sink memory_sink]
output = $tmp/rows.jsonl
password = kit-option-secret
url = http://user:kit-url-secret@example.invalid:8123/
leak = password=kit-leaked-secret
INI
"$sluice" plugin test "$plugin" --kit "$tmp/kit.ini" > "$tmp/out" 2>&1
grep -q "^FAIL sink memory_sink: " "$tmp/out" || fail "the leaking write did not fail: $(cat "$tmp/out")"
for secret in kit-option-secret kit-url-secret kit-leaked-secret; do
  grep -q "$secret" "$tmp/out" && fail "the report shows $secret: $(grep "$secret" "$tmp/out")"
done
grep -q "^2000-01-01T00:00:00.000Z error sluice: forged" "$tmp/out" &&
  fail "a message forged a line of its own"
grep -q 'url http://user:\*\*\*\*\*\*\*\*@example.invalid' "$tmp/out" ||
  fail "the URL is not shown masked: $(grep -m3 memory_sink "$tmp/out")"
finish kit_secrets
