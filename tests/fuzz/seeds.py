#!/usr/bin/env python3
"""seeds.py: writes the seed corpora of the fuzzers (tests/fuzz/corpus/
HARNESS/seed-*), small inputs of each form each harness reads. Run it
from anywhere to make them again; the seeds are committed, the crash-*
inputs beside them are regression inputs and are never rewritten."""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def write(harness, name, data):
    d = os.path.join(HERE, "corpus", harness)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, "seed-" + name), "wb") as f:
        f.write(data)


# ---- the INI config ----
def config():
    for ex in ("quickstart.ini", "quickstart-jsonl.ini"):
        with open(os.path.join(ROOT, "examples", ex), "rb") as f:
            write("fuzz_config", ex.replace(".ini", ""), f.read())
    write("fuzz_config", "all-sections", """[store]
url = sluice.db
[plugins]
path = plugins, /usr/lib/sluice
[hub]
maintenance_at = 03:30
[service]
http_listen = 127.0.0.1:9100
health_max_lag = 5m
progress = log
log_level = debug
[topic orders]
consumed_retention_days = 2
unconsumed_retention_days = 9
[topic orders.retention]
[pipe p]
source = source_mongo
sink = sink_clickhouse
topic = orders
mode = snapshot+cdc
sync_interval = 1s
pull_batch_size = 1000
[pipe p.source]
uri = mongodb://127.0.0.1:27017
collections = a, b
[pipe p.sink]
url = http://127.0.0.1:8123
""")
    write("fuzz_config", "errors", """[pipe bad name]
mode = sometimes
[topic]
[store]
url = postgres://x
url = twice
[unknown]
key
= value
""")


# ---- JSON lines of topic publish ----
def jsonl():
    lines = [
        '{"table": "orders", "op": "insert", "key": 1, "doc": {"a": 1}, "version": 7}',
        '{"table": "orders", "op": "delete", "key": {"$oid": "5f1b0c3e9d1e8a2b3c4d5e6f"}, "doc": null, "version": 8}',
        '{"table":"t","op":"update","key":"k","doc":{"d":{"$date":"2024-01-02T03:04:05Z"},"n":[1,2.5,true,null]},"version":9}',
        '{"table": "t", "op": "snapshot", "key": 2, "doc": {}, "version": 0}',
        '{"table": "t", "op": "replace", "key": 3, "doc": {"x": {"$numberLong": "12"}}, "version": 1}',
        '{"table": "t", "op": "insert", "key": 1}',
        '["not", "an", "object"]',
    ]
    for i, line in enumerate(lines):
        write("fuzz_jsonl", "%d" % i, line)


# ---- the hub's batch blobs ----
def frame(op, version, table, key, doc, at=0):
    head = struct.pack("<BQIII", op | (0x80 if at else 0), version,
                       len(table), len(key), len(doc))
    if at:
        head += struct.pack("<q", at)
    return head + table + key + doc


def blob():
    write("fuzz_blob", "empty", b"")
    write("fuzz_blob", "one", frame(1, 7, b"orders", b"1", b'{"a":1}'))
    write("fuzz_blob", "timed", frame(2, 8, b"orders", b'"k"', b'{"b":2}',
                                      1700000000000))
    write("fuzz_blob", "mixed",
          frame(0, 1, b"a", b"1", b"{}") + frame(4, 2, b"b", b"2", b"")
          + frame(3, 3, b"a", b"3", b'{"c":[1]}', 1)
          + frame(2, 4, b"c", b"4", b"{}"))
    write("fuzz_blob", "truncated", frame(1, 7, b"orders", b"1", b"{}")[:-1])


# ---- the retention plan's input ----
def retention():
    day = 86400 * 1000
    now = 1700000000000

    def inp(c, u, t, old, pubs):
        b = struct.pack("<qqqB", c, u, t, 1 if old else 0)
        for pid, at, cons, fin in pubs:
            b += struct.pack("<qqBq", pid, at, cons, fin)
        return b
    write("fuzz_retention", "none", inp(1, 7, now, False, []))
    write("fuzz_retention", "some",
          inp(1, 7, now, False, [(1, now - 10 * day, 1, 0),
                                 (2, now - 3 * day, 1, now - 2 * day),
                                 (3, now - day, 0, 0)]))
    write("fuzz_retention", "old-core",
          inp(2, 9, now, True, [(1, now - 20 * day, 1, 0),
                                (2, now - 5 * day, 1, 0)]))


# ---- ClickHouse's answers ----
def clickhouse():
    answers = [
        (0, "24.3.2.23\n"),
        (0, "18.16.1\n"),
        (0, "not a version\n"),
        (1, "Code: 60. DB::Exception: Table db.t doesn't exist. "
            "(UNKNOWN_TABLE) (version 24.3.2.23 (official build))\n"),
        (9, "Code: 241. DB::Exception: Memory limit (total) exceeded\n"),
        (7, "Code: 1000, e.code() = 0, e.displayText() = Net Exception: "
            "Connection reset by peer\n"),
        (0, "1\t2\n3\t4\nCode: 395. DB::Exception: Value passed to "
            "'throwIf' function is non-zero\n"),
        (0, "_id\tString\ndoc\tString\n_version\tUInt64\n_is_deleted\tUInt8\n"
            "_synced_at\tDateTime64(3)\n"),
        (0, "_id\tString\ndoc\tJSON\n_peerdb_version\tInt64\n"
            "_peerdb_is_deleted\tUInt8\n_peerdb_synced_at\tDateTime64(9)\n"),
        (8, ""),
    ]
    for i, (status, body) in enumerate(answers):
        write("fuzz_clickhouse", "%d" % i, bytes([status]) + body.encode())


# ---- BSON documents ----
def cstring(s):
    return s.encode() + b"\0"


def bstring(s):
    b = s.encode() if isinstance(s, str) else s
    return struct.pack("<i", len(b) + 1) + b + b"\0"


def document(elements):
    body = b"".join(elements)
    return struct.pack("<i", len(body) + 5) + body + b"\0"


def el(t, name, value):
    return bytes([t]) + cstring(name) + value


def bson_json():
    sub = document([el(0x10, "x", struct.pack("<i", 1))])
    arr = document([el(0x02, "0", bstring("a")), el(0x10, "1", struct.pack("<i", 2))])
    docs = {
        "scalars": [el(0x01, "d", struct.pack("<d", 1.5)),
                    el(0x01, "i", struct.pack("<d", 3.0)),
                    el(0x01, "big", struct.pack("<d", 1e300)),
                    el(0x01, "nan", struct.pack("<d", float("nan"))),
                    el(0x01, "neg0", struct.pack("<d", -0.0)),
                    el(0x02, "s", bstring("h\u00e9\"\\\n\x01")),
                    el(0x08, "t", b"\x01"), el(0x0A, "n", b""),
                    el(0x10, "i32", struct.pack("<i", -5)),
                    el(0x12, "i64", struct.pack("<q", 1 << 40))],
        "nested": [el(0x03, "o", sub), el(0x04, "a", arr)],
        "special": [el(0x07, "_id", bytes(range(12))),
                    el(0x09, "date", struct.pack("<q", 1700000000000)),
                    el(0x09, "old", struct.pack("<q", -62135596800001)),
                    el(0x05, "bin", struct.pack("<i", 3) + b"\x00abc"),
                    el(0x05, "uuid", struct.pack("<i", 16) + b"\x04" + bytes(16)),
                    el(0x0B, "re", cstring("a.*b") + cstring("im")),
                    el(0x11, "ts", struct.pack("<II", 3, 1700000000)),
                    el(0x13, "dec", bytes(15) + b"\x30"),
                    el(0x0D, "code", bstring("f()")),
                    el(0x0E, "sym", bstring("s")),
                    el(0x0F, "cws", struct.pack("<i", 4 + 6 + len(sub))
                       + bstring("g") + sub),
                    el(0x0C, "ptr", bstring("c") + bytes(12)),
                    el(0x06, "u", b""), el(0xFF, "min", b""),
                    el(0x7F, "max", b"")],
        "empty": [],
    }
    for name, elements in docs.items():
        write("fuzz_bson_json", name, document(elements))


# ---- the MongoDB wire protocol ----
def wire():
    hello = document([el(0x10, "hello", struct.pack("<i", 1)),
                      el(0x02, "$db", bstring("admin"))])
    ins = document([el(0x02, "insert", bstring("c")),
                    el(0x02, "$db", bstring("d"))])
    doc = document([el(0x10, "_id", struct.pack("<i", 1))])
    seq = cstring("documents") + doc + doc
    OP_MSG, OP_QUERY = 0, 1
    write("fuzz_wire", "msg", bytes([OP_MSG]) + struct.pack("<I", 0) + b"\0" + hello)
    write("fuzz_wire", "msg-seq",
          bytes([OP_MSG]) + struct.pack("<I", 2) + b"\0" + ins + b"\1"
          + struct.pack("<i", 4 + len(seq)) + seq)
    write("fuzz_wire", "msg-checksum",
          bytes([OP_MSG]) + struct.pack("<I", 1) + b"\0" + hello + b"\0\0\0\0")
    q = document([el(0x03, "$query", hello)])
    write("fuzz_wire", "query",
          bytes([OP_QUERY]) + struct.pack("<i", 0) + cstring("admin.$cmd")
          + struct.pack("<ii", 0, -1) + q)
    write("fuzz_wire", "query-plain",
          bytes([OP_QUERY]) + struct.pack("<i", 0) + cstring("admin.$cmd")
          + struct.pack("<ii", 0, -1) + hello)


for make in (config, jsonl, blob, retention, clickhouse, bson_json, wire):
    make()
