#!/usr/bin/env bash
# kit_clickhouse.sh SLUICE SINK_CLICKHOUSE.so CH_DIR KIT_CASE: the
# conformance kit on sink_clickhouse against the server the `clickhouse`
# test fixture started in CH_DIR; the visible rows (FINAL, without the
# write time) are read back over HTTP to compare replays.
set -u
sluice=$1 plugin=$2 dir=$3 kit_case=$4
url=$(cat "$dir/url") || { echo "kit_clickhouse: no server in $dir" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
query="SELECT _id, doc, _version, _is_deleted FROM conformance.sluice_conformance FINAL ORDER BY _id FORMAT TSV"
cat > "$tmp/kit.ini" <<INI
[sink sink_clickhouse]
url = $url
database = conformance

[conformance sink_clickhouse]
verify = curl -sS --fail-with-body '$url/' --data-binary '$query'
INI
"$kit_case" "$sluice" "$plugin" "$tmp/kit.ini" 0 \
  "^PASS sink sink_clickhouse: sink.setup_idempotent: " \
  "^PASS sink sink_clickhouse: sink.replay_unchanged: " \
  "^PASS sink sink_clickhouse: sink.setup_keeps_rows: " \
  "^PASS sink sink_clickhouse: sink.drop_idempotent: " \
  ", 0 failed, 0 skipped$"
