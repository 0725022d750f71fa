#!/usr/bin/python3
"""test_json_formats.py TEST_JSON [COUNT [SEED]]: source_mongo's three JSON
forms (plugins/source_mongo/json.c) against independent references, on the
generated documents of every BSON type that `TEST_JSON --dump` writes
(tests/source/test_json.c):

- relaxed and canonical: json.c's text and libbson's
  (bson_as_relaxed_extended_json, bson_as_canonical_extended_json), both
  parsed by Python's json module, are the same values (a double as the
  same double, in a string of $numberDouble too);
- clickpipes: json.c's text parsed is what the type table of docs/mongo.md
  makes of the document as PyMongo's bson decodes it (doc_table.py,
  written from the table);
- no form has a space (or other white space) outside its strings.

PyMongo's pure-Python decoder is used with dates read as milliseconds (its
datetime stops at years 1 and 9999; the table goes on)."""
import json
import struct
import subprocess
import sys

# PyMongo's C extension (python3-bson-ext, which Debian's python3-pymongo
# depends on) decodes dates as datetime; keep it from loading so that the
# pure-Python decoder, whose date reader is replaced below, decodes.
sys.modules["bson._cbson"] = None
import bson  # noqa: E402
from bson.binary import UuidRepresentation
from bson.codec_options import CodecOptions

from doc_table import Millis, clickpipes, date_millis, parse, same, wrapped


def _get_millis(data, view, position, dummy0, opts, dummy1):
    return Millis(struct.unpack_from("<q", data, position)[0]), position + 8


bson._ELEMENT_GETTER[0x09] = _get_millis
OPTIONS = CodecOptions(uuid_representation=UuidRepresentation.UNSPECIFIED)


def date_forms(v, canonical):
    """Dates written in the wrong form of extended JSON: canonical always
    {"$numberLong": ...}; relaxed ISO 8601 for years 1970 to 9999 and
    {"$numberLong": ...} for the others, as the extended JSON spec says
    (where libbson 1.23 writes ISO dates of five digits and more)."""
    bad = []
    if isinstance(v, list):
        x = wrapped(v, "$date")
        if x is not None:
            ms = date_millis(x)
            iso_wanted = not canonical and 0 <= ms <= 253402300799999
            if isinstance(x, str) != iso_wanted:
                bad.append(json.dumps(v))
        else:
            for item in v:
                bad += date_forms(item[1] if isinstance(item, tuple) else item,
                                  canonical)
    return bad


def spaces_outside_strings(text):
    """The first white space outside a string, or None."""
    in_string = escaped = False
    for i, c in enumerate(text):
        if in_string:
            if escaped:
                escaped = False
            elif c == "\\":
                escaped = True
            elif c == '"':
                in_string = False
        elif c == '"':
            in_string = True
        elif c in " \t\r\n":
            return i
    return None


def records(data):
    """(bson bytes, [5 texts or None]) of each dumped document."""
    pos = 0
    while pos < len(data):
        fields = []
        for _ in range(6):
            (n,) = struct.unpack_from("<I", data, pos)
            pos += 4
            if n == 0xFFFFFFFF:
                fields.append(None)
            else:
                fields.append(data[pos:pos + n])
                pos += n
        yield fields[0], [f.decode() if f is not None else None for f in fields[1:]]


def check(raw, texts):
    """The problems of one document."""
    mine_cp, mine_relaxed, mine_canonical, libbson_relaxed, libbson_canonical = texts
    problems = []
    for name, text in (("clickpipes", mine_cp), ("relaxed", mine_relaxed),
                       ("canonical", mine_canonical)):
        if text is None:
            problems.append("%s: refused a repaired document" % name)
            continue
        at = spaces_outside_strings(text)
        if at is not None:
            problems.append("%s: white space at %d: %s" % (name, at, text))
    if problems:
        return problems
    for name, mine, theirs in (("relaxed", mine_relaxed, libbson_relaxed),
                               ("canonical", mine_canonical, libbson_canonical)):
        if not same(parse(mine), parse(theirs)):
            problems.append("%s differs:\n  json.c:  %s\n  libbson: %s"
                            % (name, mine, theirs))
    for name, mine in (("relaxed", mine_relaxed), ("canonical", mine_canonical)):
        for d in date_forms(parse(mine), name == "canonical"):
            problems.append("%s: a date in the wrong form: %s" % (name, d))
    want = clickpipes(bson.decode(raw, OPTIONS))
    if not same(parse(mine_cp), want):
        problems.append("clickpipes differs:\n  json.c:    %s\n  the table: %s"
                        % (mine_cp, json.dumps(want, ensure_ascii=False)))
    return problems


def main():
    if bson.has_c():
        print("FAIL: PyMongo's C extension loaded all the same; the test "
              "needs its pure-Python decoder (dates as milliseconds)")
        return 1
    program, count = sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else "20000"
    seed = sys.argv[3] if len(sys.argv) > 3 else "7"
    run = subprocess.run([program, "--dump", count, seed], stdout=subprocess.PIPE)
    if run.returncode != 0:
        print("FAIL: %s --dump exited %d" % (program, run.returncode))
        return 1
    failures = documents = 0
    for raw, texts in records(run.stdout):
        documents += 1
        for p in check(raw, texts):
            failures += 1
            if failures <= 5:
                print("FAIL document %d: %s" % (documents - 1, p))
    if documents != int(count):
        print("FAIL: %d documents dumped, want %s" % (documents, count))
        failures += 1
    if failures:
        print("%d problems" % failures)
        return 1
    print("%d documents: relaxed and canonical as libbson's, clickpipes as "
          "the table, no white space" % documents)
    return 0


if __name__ == "__main__":
    sys.exit(main())
