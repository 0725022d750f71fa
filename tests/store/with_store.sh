#!/usr/bin/env bash
# with_store.sh sqlite|postgresql PG_DIR CMD ARGS...: runs CMD with a fresh,
# empty store of the given kind, replacing "{store}" in ARGS by its URL
# (also exported as SLUICE_TEST_STORE). For PostgreSQL a new database is
# made on the test server whose directory is PG_DIR (tests/servers/
# postgres.sh), and dropped afterwards.
set -u
kind=$1 pgdir=$2; shift 2
tmp=$(mktemp -d)
cleanup() { rm -rf "$tmp"; }
case $kind in
sqlite) url="sqlite:$tmp/store.db" ;;
postgresql)
  [ -f "$pgdir/url" ] || { echo "no PostgreSQL test server at $pgdir (the postgres.start test sets it up)"; exit 1; }
  base=$(cat "$pgdir/url")
  db="t_$$_$RANDOM"
  psql=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)/psql
  "$psql" -q "$base" -c "CREATE DATABASE $db" >/dev/null || exit 1
  url="${base%/*}/$db"
  cleanup() { rm -rf "$tmp"; "$psql" -q "$base" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1; }
  ;;
*) echo "with_store.sh: unknown store kind '$kind'"; exit 2 ;;
esac
trap cleanup EXIT
export SLUICE_TEST_STORE=$url
args=()
for a in "$@"; do args+=("${a//\{store\}/$url}"); done
"${args[@]}"
