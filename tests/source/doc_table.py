"""doc_table.py: the clickpipes form of source_mongo's documents
(docs/mongo.md, "Documents"), written from the table in Python for the
tests: what a document decoded by PyMongo becomes, and how two parsed JSON
values are compared. Used by tests/source/test_json_formats.py and
tests/e2e/e2e.py."""
import base64
import datetime
import json
import re
import uuid

from bson.code import Code
from bson.dbref import DBRef
from bson.decimal128 import Decimal128
from bson.max_key import MaxKey
from bson.min_key import MinKey
from bson.objectid import ObjectId
from bson.regex import Regex
from bson.timestamp import Timestamp

EPOCH = datetime.datetime(1970, 1, 1)


class Millis(int):
    """A BSON date as PyMongo's datetime cannot hold it (years before 1 and
    after 9999): milliseconds since 1970."""


def iso(ms):
    """YYYY-MM-DDTHH:MM:SS.mmmZ, proleptic Gregorian, any year: the date is
    moved by whole 400-year cycles (146097 days) into datetime's range."""
    secs, milli = divmod(ms, 1000)
    days, sod = divmod(secs, 86400)
    ordinal = datetime.date(1970, 1, 1).toordinal() + days
    cycles = (ordinal - 1) // 146097
    d = datetime.date.fromordinal(ordinal - cycles * 146097)
    year = d.year + 400 * cycles
    return "%s%04d-%02d-%02dT%02d:%02d:%02d.%03dZ" % (
        "-" if year < 0 else "", abs(year), d.month, d.day,
        sod // 3600, sod // 60 % 60, sod % 60, milli)


DATE = re.compile(r"(-?\d+)-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d{3}))?Z$")


def iso_millis(text):
    """The milliseconds of an ISO date of any year (iso's inverse)."""
    m = DATE.match(text)
    year, month, day, hh, mm, ss = (int(x) for x in m.groups()[:6])
    cycles = (year - 1) // 400
    days = (datetime.date(year - 400 * cycles, month, day).toordinal()
            + cycles * 146097 - datetime.date(1970, 1, 1).toordinal())
    return ((days * 86400 + hh * 3600 + mm * 60 + ss) * 1000
            + int(m.group(7) or 0))


def regex_options(flags):
    """A Regex's flags as MongoDB's option letters, in their order."""
    letters = [("i", re.IGNORECASE), ("l", re.LOCALE), ("m", re.MULTILINE),
               ("s", re.DOTALL), ("u", re.UNICODE), ("x", re.VERBOSE)]
    return "".join(c for c, f in letters if flags & f)


def clickpipes(v):
    """A decoded BSON value as the clickpipes form writes it, parsed (an
    object as its list of pairs)."""
    if isinstance(v, dict):
        return [(k, clickpipes(x)) for k, x in v.items()]
    if isinstance(v, list):
        return [clickpipes(x) for x in v]
    if isinstance(v, bool) or v is None:
        return v
    if isinstance(v, Millis):
        return iso(v)
    if isinstance(v, datetime.datetime):
        if v.tzinfo is not None:
            v = v.astimezone(datetime.timezone.utc).replace(tzinfo=None)
        return iso((v - EPOCH) // datetime.timedelta(milliseconds=1))
    if isinstance(v, int):  # int32 and Int64
        return int(v)
    if isinstance(v, float):
        if v != v:
            return "NaN"
        if v in (float("inf"), float("-inf")):
            return "Infinity" if v > 0 else "-Infinity"
        return v
    if isinstance(v, Code):
        if v.scope is None:
            return str(v)
        return [("Code", str(v)), ("Scope", clickpipes(v.scope))]
    if isinstance(v, str):  # strings and symbols
        return v
    if isinstance(v, ObjectId):
        return str(v)
    if isinstance(v, bytes):  # Binary, or bytes of subtype 0
        return [("Subtype", getattr(v, "subtype", 0)),
                ("Data", base64.b64encode(bytes(v)).decode())]
    if isinstance(v, uuid.UUID):  # PyMongo's default decoding of subtype 4
        return [("Subtype", 4), ("Data", base64.b64encode(v.bytes).decode())]
    if isinstance(v, Regex):
        return [("Pattern", v.pattern), ("Options", regex_options(v.flags))]
    if isinstance(v, DBRef):
        return [("DB", v.collection), ("Pointer", str(v.id))]
    if isinstance(v, Timestamp):
        return [("T", v.time), ("I", v.inc)]
    if isinstance(v, Decimal128):
        return str(v)
    if isinstance(v, (MinKey, MaxKey)):
        return []
    raise TypeError("no clickpipes form for %r" % (v,))


# ---------------------------------------------------------------- comparing

def parse(text):
    return json.loads(text, object_pairs_hook=list)


def wrapped(x, name):
    """The value of {name: value}, or None."""
    if isinstance(x, list) and len(x) == 1 and isinstance(x[0], tuple) \
            and x[0][0] == name:
        return x[0][1]
    return None


def date_millis(value):
    """A $date's value, ISO or {"$numberLong": ...}, as milliseconds."""
    if isinstance(value, str):
        return iso_millis(value)
    return int(wrapped(value, "$numberLong"))


def same(a, b):
    """Equal JSON values, types apart (1 is not 1.0), doubles by their
    bits (so -0.0 is not 0.0), $numberDouble strings as doubles, $date
    as milliseconds (ISO or not)."""
    if isinstance(a, list) and isinstance(b, list):
        x, y = wrapped(a, "$numberDouble"), wrapped(b, "$numberDouble")
        if x is not None and y is not None:
            return same(float(x), float(y))
        x, y = wrapped(a, "$date"), wrapped(b, "$date")
        if x is not None and y is not None:
            return date_millis(x) == date_millis(y)
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, tuple) and isinstance(b, tuple):
        return a[0] == b[0] and same(a[1], b[1])
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return repr(a) == repr(b)
    return a == b
