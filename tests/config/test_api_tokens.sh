#!/usr/bin/env bash
# test_api_tokens.sh SLUICE: `sluice check` reads the API's token files as
# sluice run does, and names the file and what is wrong with it: missing,
# readable by others, empty, too short. The token itself never appears.
set -u
sluice=$1
. "$(dirname "$0")/../lib.sh"
token=0123456789abcdef0123456789abcdef
write_config() {
  cat > "$tmp/c.ini" <<INI
[service]
http_listen = 127.0.0.1:9187
api_token_file = $1
INI
}
expect() { # expect STATUS TEXT
  out=$("$sluice" check "$tmp/c.ini" 2>&1); status=$?
  [ "$status" = "$1" ] || fail "exit $status, expected $1: $out"
  grep -qF -- "$2" <<<"$out" || fail "missing '$2' in: $out"
  ! grep -qF "$token" <<<"$out" || fail "the token was shown: $out"
}
write_config "$tmp/none"
expect 2 "[service] api_token_file: cannot read $tmp/none"
printf '%s\n' "$token" > "$tmp/t"; chmod 644 "$tmp/t"; write_config "$tmp/t"
expect 2 "$tmp/t can be read by every user of the host"
chmod 600 "$tmp/t"
expect 0 "ok: 0 pipes"
: > "$tmp/t"
expect 2 "$tmp/t has no token on its first line"
printf 'short\n' > "$tmp/t"
expect 2 "the token in $tmp/t is shorter than 16 characters"
finish api_tokens
