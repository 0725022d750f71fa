#!/usr/bin/python3
"""prometheus_check.py FILE...: checks scrapes of sluice's /metrics, taken
in that order, against Prometheus' text format (0.0.4) and its naming
rules; prints each problem and exits 1 when there is one.

Every line of every scrape is checked:
  - a line is a sample, `# HELP NAME TEXT`, `# TYPE NAME TYPE`, another
    comment, or empty;
  - every family has exactly one HELP (not empty) and one TYPE (counter or
    gauge: sluice declares no other), both before its samples, and its
    samples together;
  - names are sluice_ lower_snake_case, label names are valid and not
    reserved (__), label values are escaped as the format says, a value
    is a number;
  - no series (name and label set) appears twice;
  - a counter's name ends in _total and a gauge's does not; an _info
    family is a gauge of 1s;
  - units are base units, in the name: no _ms, _minutes, _kb, ...; a name
    about time (lag, duration, age, timestamp, retrying, ...) ends in
    _seconds (or _per_second), one about bytes or sizes in _bytes (before
    a counter's _total);
  - counters are finite and not negative.
Across the scrapes: no counter's series goes down.

Importable: check(text) gives (problems, scrape) and went_down(earlier,
later) the counters that went down; e2e.py uses both. No package outside
Python's own library.
"""
import math
import re
import sys

NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
SLUICE_NAME = re.compile(r"sluice_[a-z0-9_]*[a-z0-9]")
LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
TYPES = ("counter", "gauge")
# units that are not base units (Prometheus: seconds, bytes, ...)
NOT_BASE = {"ms", "msec", "millis", "milliseconds", "us", "usec",
            "microseconds", "ns", "nanoseconds", "minutes", "mins", "hours",
            "days", "weeks", "kb", "kib", "mb", "mib", "gb", "gib",
            "kilobytes", "megabytes", "gigabytes", "bits", "percent"}
ABOUT_TIME = {"lag", "latency", "duration", "age", "elapsed", "timestamp",
              "time", "uptime", "retrying", "seconds", "delay", "wait"}
ABOUT_BYTES = {"bytes", "size"}


class Scrape:
    """One scrape: each family's type, and each series' value."""

    def __init__(self):
        self.types = {}     # family -> type
        self.values = {}    # (family, ((label, value), ...)) -> float


def parse_value(text):
    if text in ("NaN", "+Inf", "-Inf", "Inf"):
        return float(text.replace("Inf", "inf").replace("NaN", "nan"))
    if not re.fullmatch(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?", text):
        raise ValueError(text)
    return float(text)


def parse_labels(text, where):
    """The labels of `{...}` (text without the braces) as a sorted tuple;
    raises ValueError with what is wrong."""
    labels, i = [], 0
    while i < len(text):
        m = LABEL_NAME.match(text, i)
        if not m:
            raise ValueError("%s: a label name expected at %r" % (where, text[i:]))
        name = m.group(0)
        if name.startswith("__"):
            raise ValueError("%s: label name %s is reserved (__)" % (where, name))
        i = m.end()
        if text[i:i + 2] != '="':
            raise ValueError("%s: label %s has no =\"value\"" % (where, name))
        i += 2
        value = []
        while True:
            if i >= len(text):
                raise ValueError("%s: label %s's value is not closed" % (where, name))
            c = text[i]
            if c == "\\":
                nxt = text[i + 1:i + 2]
                if nxt not in ("\\", '"', "n"):
                    raise ValueError("%s: label %s: escape \\%s is not one of \\\\, \\\", \\n"
                                     % (where, name, nxt))
                value.append("\n" if nxt == "n" else nxt)
                i += 2
            elif c == '"':
                i += 1
                break
            elif c == "\n":
                raise ValueError("%s: label %s: a raw newline" % (where, name))
            else:
                value.append(c)
                i += 1
        if any(n == name for n, _ in labels):
            raise ValueError("%s: label %s twice" % (where, name))
        labels.append((name, "".join(value)))
        if i < len(text):
            if text[i] != ",":
                raise ValueError("%s: ',' or '}' expected after label %s" % (where, name))
            i += 1
    return tuple(sorted(labels))


def split_sample(line, where):
    """(name, labels text or None, rest) of a sample line."""
    m = NAME.match(line)
    if not m:
        raise ValueError("%s: not a sample: %r" % (where, line))
    name, i = m.group(0), m.end()
    labels = None
    if line[i:i + 1] == "{":
        j, quoted, escaped = i + 1, False, False
        while j < len(line):
            c = line[j]
            if escaped:
                escaped = False
            elif c == "\\":
                escaped = True
            elif c == '"':
                quoted = not quoted
            elif c == "}" and not quoted:
                break
            j += 1
        else:
            raise ValueError("%s: labels not closed: %r" % (where, line))
        labels, i = line[i + 1:j], j + 1
    if line[i:i + 1] != " ":
        raise ValueError("%s: no space before the value: %r" % (where, line))
    return name, labels, line[i + 1:]


def name_problems(name, kind):
    """What breaks Prometheus' naming rules in a family's name."""
    out = []
    if not SLUICE_NAME.fullmatch(name):
        out.append("%s: not a sluice_ lower_snake_case name" % name)
        return out
    words = name.split("_")
    if kind == "counter" and not name.endswith("_total"):
        out.append("%s: a counter's name ends in _total" % name)
    if kind != "counter" and name.endswith("_total"):
        out.append("%s: a %s's name does not end in _total" % (name, kind))
    base = name[:-len("_total")] if name.endswith("_total") else name
    bad = sorted(NOT_BASE & set(words))
    if bad:
        out.append("%s: %s is not a base unit (seconds, bytes)" % (name, bad[0]))
    if ABOUT_TIME & set(words) and not (base.endswith("_seconds") or base.endswith("_per_second")):
        out.append("%s: a name about time ends in _seconds" % name)
    if ABOUT_BYTES & set(words) and not base.endswith("_bytes"):
        out.append("%s: a name about bytes ends in _bytes" % name)
    return out


def check(text):
    """(problems, Scrape) of one scrape's text."""
    problems, scrape = [], Scrape()
    helps, seen, sampled, last = {}, set(), set(), None

    def belongs(family, where):
        """The line is of `family`: a family's lines come together."""
        nonlocal last
        if family != last:
            if family in seen:
                problems.append("%s: the lines of %s are not together" % (where, family))
            seen.add(family)
            last = family

    if not text.endswith("\n"):
        problems.append("the text does not end with a newline")
    for n, line in enumerate(text[:-1].split("\n") if text.endswith("\n") else text.split("\n"), 1):
        where = "line %d" % n
        if not line:
            continue
        if line.startswith("#"):
            parts = line.split(" ", 3)
            if len(parts) < 2 or parts[1] not in ("HELP", "TYPE"):
                continue    # a comment
            if len(parts) < 4 or not parts[3]:
                problems.append("%s: %s without a name and a text: %r" % (where, parts[1], line))
                continue
            family, what = parts[2], parts[3]
            belongs(family, where)
            if family in sampled:
                problems.append("%s: %s of %s after its samples" % (where, parts[1], family))
            if parts[1] == "HELP":
                if family in helps:
                    problems.append("%s: a second HELP of %s" % (where, family))
                if re.search(r"\\([^\\n]|$)", what.replace("\\\\", "")):
                    problems.append("%s: the HELP of %s has an escape other than \\\\ and \\n"
                                    % (where, family))
                helps[family] = what
            else:
                if family in scrape.types:
                    problems.append("%s: a second TYPE of %s" % (where, family))
                if what not in TYPES:
                    problems.append("%s: %s has TYPE %s, not counter or gauge"
                                    % (where, family, what))
                scrape.types[family] = what
            continue
        try:
            name, labels_text, rest = split_sample(line, where)
            labels = parse_labels(labels_text, where) if labels_text else ()
            fields = rest.split(" ")
            if len(fields) > 2 or (len(fields) == 2 and not re.fullmatch(r"-?\d+", fields[1])):
                raise ValueError("%s: %r is not a value and a timestamp" % (where, rest))
            try:
                value = parse_value(fields[0])
            except ValueError:
                raise ValueError("%s: %r is not a number" % (where, fields[0]))
        except ValueError as e:
            problems.append(str(e))
            continue
        belongs(name, where)
        sampled.add(name)
        missing = [w for w, have in (("HELP", name in helps), ("TYPE", name in scrape.types))
                   if not have]
        if missing:
            problems.append("%s: %s has no %s before it" % (where, name, " and ".join(missing)))
        key = (name, labels)
        if key in scrape.values:
            problems.append("%s: series %s%s twice" % (where, name, dict(labels)))
        scrape.values[key] = value
        if scrape.types.get(name) == "counter" and not (0 <= value < math.inf):
            problems.append("%s: counter %s is %r" % (where, name, value))
        if name.endswith("_info") and value != 1:
            problems.append("%s: %s is %r, and an _info metric is 1" % (where, name, value))
    for family in sorted(seen):
        if family not in helps and family not in sampled:
            problems.append("%s has a TYPE and no HELP" % family)
        elif family not in scrape.types and family not in sampled:
            problems.append("%s has a HELP and no TYPE" % family)
        kind = scrape.types.get(family, "")
        problems += name_problems(family, kind)
        if family.endswith("_info") and kind != "gauge":
            problems.append("%s: an _info metric is a gauge" % family)
    return problems, scrape


def went_down(earlier, later):
    """The counter series of `earlier` whose value is lower in `later`
    (both Scrape)."""
    out = []
    for (name, labels), value in sorted(earlier.values.items()):
        if earlier.types.get(name) != "counter":
            continue
        after = later.values.get((name, labels))
        if after is not None and after < value:
            out.append("counter %s%s went down from %r to %r"
                       % (name, dict(labels), value, after))
    return out


def main():
    if len(sys.argv) < 2:
        print(__doc__)
        return 2
    problems, previous = [], None
    for path in sys.argv[1:]:
        with open(path, encoding="utf-8") as f:
            found, scrape = check(f.read())
        problems += ["%s: %s" % (path, p) for p in found]
        if previous:
            problems += ["%s: %s" % (path, p) for p in went_down(previous, scrape)]
        previous = scrape
    for p in problems:
        print(p)
    if not problems:
        print("%d scrape(s) follow Prometheus' format and naming rules" % (len(sys.argv) - 1))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
