#!/usr/bin/env bash
# compression.sh BUILD_DIR [RECORDS]: what LZ4 and zstd (Debian's lz4 and
# zstd programs, at their fastest levels and zstd's default) would make of
# the hub's blobs, to weigh against their CPU. RECORDS (default 200000)
# documents of two kinds are published through `sluice topic publish`
# into an SQLite store, and its segment files compressed and decompressed
# in memory (/dev/shm): the test server's generated documents {_id, n,
# pad} of bench/e2e (1 KiB, the pad a run of one character) and orders of
# about 1 KiB with names, addresses, prices, dates and line items drawn at
# random (closer to what applications store). Prints, per kind and
# codec, the ratio and the CPU seconds per GB of blob, compressing and
# decompressing.
set -euo pipefail
cd "$(dirname "$0")/../.."
build=$(cd "${1:-build}" && pwd)
records=${2:-200000}
tmp=$(mktemp -d /dev/shm/sluice-compression-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
export SLUICE_PLUGIN_PATH=$build/plugins

python3 - "$tmp" "$records" <<'PY'
import json, random, sys
tmp, n = sys.argv[1], int(sys.argv[2])
random.seed(20)
words = ("alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima "
         "mike november oscar papa quebec romeo sierra tango uniform victor "
         "whiskey xray yankee zulu").split()
cities = ["Lisbon", "Porto", "Berlin", "Hamburg", "Lyon", "Paris", "Osaka", "Kyoto", "Austin", "Denver"]
with open(f"{tmp}/generated.jsonl", "w") as g, open(f"{tmp}/orders.jsonl", "w") as o:
    for i in range(n):
        g.write(json.dumps({"table": "docs", "op": "snapshot", "key": "%024x" % i,
                            "doc": {"_id": {"$oid": "%024x" % i}, "n": i, "pad": "x" * 990},
                            "version": 1}) + "\n")
        items = [{"sku": "SKU-%06d" % random.randrange(10**6),
                  "name": " ".join(random.choice(words) for _ in range(3)),
                  "qty": random.randrange(1, 9),
                  "price": round(random.uniform(1, 500), 2)} for _ in range(random.randrange(3, 8))]
        doc = {"_id": {"$oid": "%024x" % random.getrandbits(96)},
               "customer": {"name": " ".join(random.choice(words).title() for _ in range(2)),
                            "email": "%s.%d@example.com" % (random.choice(words), random.randrange(10**5)),
                            "address": {"street": "%d %s Street" % (random.randrange(1, 999), random.choice(words).title()),
                                        "city": random.choice(cities), "zip": "%05d" % random.randrange(10**5)}},
               "created_at": {"$date": "2026-%02d-%02dT%02d:%02d:%02d.%03dZ" % (
                   random.randrange(1, 13), random.randrange(1, 29), random.randrange(24),
                   random.randrange(60), random.randrange(60), random.randrange(1000))},
               "status": random.choice(["new", "paid", "shipped", "delivered", "returned"]),
               "items": items,
               "total": round(sum(x["qty"] * x["price"] for x in items), 2),
               "note": " ".join(random.choice(words) for _ in range(random.randrange(0, 12)))}
        o.write(json.dumps({"table": "orders", "op": "snapshot", "key": doc["_id"]["$oid"],
                            "doc": doc, "version": 1}) + "\n")
PY

cpu() { # cpu COMMAND...: the command's user + system CPU seconds
  /usr/bin/time -f "%U %S" "$@" 2> "$tmp/time" > /dev/null
  awk '{ printf "%.3f", $1 + $2 }' "$tmp/time"
}
printf '%-10s %-10s %8s %14s %14s\n' kind codec ratio "compress s/GB" "decompress s/GB"
for kind in generated orders; do
  store=sqlite:$tmp/$kind.db
  "$build/sluice" topic create t --store "$store" > /dev/null
  split -l 20000 "$tmp/$kind.jsonl" "$tmp/$kind.part."
  for part in "$tmp/$kind".part.*; do
    "$build/sluice" topic publish t --store "$store" < "$part" > /dev/null
  done
  cat "$tmp/$kind.db-segments"/*.seg > "$tmp/$kind.blob"
  size=$(stat -c %s "$tmp/$kind.blob")
  for codec in "lz4 -1" "zstd -1" "zstd -3"; do
    read -r prog level <<<"$codec"
    c=$(cpu "$prog" "$level" -q -c "$tmp/$kind.blob")
    "$prog" "$level" -q -c "$tmp/$kind.blob" > "$tmp/$kind.z"
    d=$(cpu "$prog" -d -q -c "$tmp/$kind.z")
    awk -v k="$kind" -v c="$codec" -v s="$size" -v z="$(stat -c %s "$tmp/$kind.z")" \
        -v tc="$c" -v td="$d" 'BEGIN { printf "%-10s %-10s %8.2f %14.2f %14.2f\n", k, c, s / z, tc / s * 1e9, td / s * 1e9 }'
  done
done
