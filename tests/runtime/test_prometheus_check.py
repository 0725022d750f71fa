#!/usr/bin/python3
"""test_prometheus_check.py: the checker of /metrics (prometheus_check.py)
passes a scrape that follows the rules, and finds each way to break them,
one per case, naming it."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from prometheus_check import check, went_down  # noqa: E402 (the path above)

GOOD = """\
# HELP sluice_build_info The running sluice (always 1).
# TYPE sluice_build_info gauge
sluice_build_info{version="0.1.0",abi="1.2"} 1
# HELP sluice_table_rows_total Rows delivered, with a \\\\ and a \\n in its help.
# TYPE sluice_table_rows_total counter
sluice_table_rows_total{pipe="a",table="x"} 10
sluice_table_rows_total{pipe="a",table="q\\"uote\\\\d\\nnew"} 0
# a comment
# HELP sluice_table_lag_seconds Lag.
# TYPE sluice_table_lag_seconds gauge
# HELP sluice_pipe_last_error_timestamp_seconds When.
# TYPE sluice_pipe_last_error_timestamp_seconds gauge
sluice_pipe_last_error_timestamp_seconds{pipe="a"} 1.7e9
# HELP sluice_table_rows_per_second Rate.
# TYPE sluice_table_rows_per_second gauge
sluice_table_rows_per_second{pipe="a",table="x"} 12.5
# HELP sluice_plugin_sink_clickhouse_written_bytes_total Bytes.
# TYPE sluice_plugin_sink_clickhouse_written_bytes_total counter
sluice_plugin_sink_clickhouse_written_bytes_total 3
"""

# (what is wrong, the scrape, words the problem says)
BAD = [
    ("no HELP", "# TYPE sluice_a gauge\nsluice_a 1\n", "has no HELP before it"),
    ("no TYPE", "# HELP sluice_a A.\nsluice_a 1\n", "has no TYPE before it"),
    ("HELP twice", "# HELP sluice_a A.\n# HELP sluice_a A.\n# TYPE sluice_a gauge\nsluice_a 1\n",
     "a second HELP"),
    ("TYPE after samples", "# HELP sluice_a A.\nsluice_a 1\n# TYPE sluice_a gauge\n",
     "TYPE of sluice_a after its samples"),
    ("untyped", "# HELP sluice_a A.\n# TYPE sluice_a untyped\nsluice_a 1\n",
     "not counter or gauge"),
    ("empty HELP", "# HELP sluice_a\n# TYPE sluice_a gauge\nsluice_a 1\n",
     "HELP without a name and a text"),
    ("bad HELP escape", "# HELP sluice_a A \\t tab.\n# TYPE sluice_a gauge\nsluice_a 1\n",
     "escape other than"),
    ("counter without _total", "# HELP sluice_rows Rows.\n# TYPE sluice_rows counter\nsluice_rows 1\n",
     "a counter's name ends in _total"),
    ("gauge with _total", "# HELP sluice_rows_total Rows.\n# TYPE sluice_rows_total gauge\nsluice_rows_total 1\n",
     "a gauge's name does not end in _total"),
    ("milliseconds", "# HELP sluice_lag_ms Lag.\n# TYPE sluice_lag_ms gauge\nsluice_lag_ms 1\n",
     "ms is not a base unit"),
    ("time without seconds", "# HELP sluice_lag Lag.\n# TYPE sluice_lag gauge\nsluice_lag 1\n",
     "a name about time ends in _seconds"),
    ("bytes not at the end", "# HELP sluice_bytes_written_total B.\n# TYPE sluice_bytes_written_total counter\n"
     "sluice_bytes_written_total 1\n", "a name about bytes ends in _bytes"),
    ("no prefix", "# HELP rows_total R.\n# TYPE rows_total counter\nrows_total 1\n",
     "not a sluice_ lower_snake_case name"),
    ("upper case", "# HELP sluice_Rows_total R.\n# TYPE sluice_Rows_total counter\nsluice_Rows_total 1\n",
     "not a sluice_ lower_snake_case name"),
    ("a series twice", "# HELP sluice_a A.\n# TYPE sluice_a gauge\nsluice_a{p=\"x\"} 1\nsluice_a{p=\"x\"} 2\n",
     "twice"),
    ("same labels in another order", "# HELP sluice_a A.\n# TYPE sluice_a gauge\n"
     "sluice_a{p=\"x\",t=\"y\"} 1\nsluice_a{t=\"y\",p=\"x\"} 2\n", "twice"),
    ("family split", "# HELP sluice_a A.\n# TYPE sluice_a gauge\n# HELP sluice_b B.\n# TYPE sluice_b gauge\n"
     "sluice_a 1\n", "are not together"),
    ("reserved label", "# HELP sluice_a A.\n# TYPE sluice_a gauge\nsluice_a{__x=\"1\"} 1\n", "reserved"),
    ("label twice", "# HELP sluice_a A.\n# TYPE sluice_a gauge\nsluice_a{p=\"1\",p=\"2\"} 1\n", "label p twice"),
    ("bad label escape", "# HELP sluice_a A.\n# TYPE sluice_a gauge\nsluice_a{p=\"\\t\"} 1\n",
     "escape \\t"),
    ("unclosed label", "# HELP sluice_a A.\n# TYPE sluice_a gauge\nsluice_a{p=\"1} 1\n", "not closed"),
    ("bad value", "# HELP sluice_a A.\n# TYPE sluice_a gauge\nsluice_a 1,5\n", "not a number"),
    ("negative counter", "# HELP sluice_a_total A.\n# TYPE sluice_a_total counter\nsluice_a_total -1\n",
     "counter sluice_a_total is -1"),
    ("info not 1", "# HELP sluice_build_info B.\n# TYPE sluice_build_info gauge\nsluice_build_info 2\n",
     "an _info metric is 1"),
    ("no newline at the end", "# HELP sluice_a A.\n# TYPE sluice_a gauge\nsluice_a 1",
     "does not end with a newline"),
]


def main():
    failures = 0
    problems, good = check(GOOD)
    if problems:
        print("FAIL: a good scrape has problems: %s" % problems)
        failures += 1
    if good.values.get(("sluice_table_rows_total", (("pipe", "a"), ("table", 'q"uote\\d\nnew')))) != 0:
        print("FAIL: escaped label values not read: %s" % sorted(good.values))
        failures += 1
    for what, text, words in BAD:
        problems, _ = check(text)
        if not any(words in p for p in problems):
            print("FAIL: %s: no problem saying %r in %s" % (what, words, problems))
            failures += 1
    down = GOOD.replace('table="x"} 10', 'table="x"} 9')
    gone = went_down(good, check(down)[1])
    if len(gone) != 1 or "went down from 10.0 to 9.0" not in gone[0]:
        print("FAIL: a counter going down: %s" % gone)
        failures += 1
    gauge_down = GOOD.replace("} 12.5", "} 1")
    if went_down(good, check(gauge_down)[1]):
        print("FAIL: a gauge going down was taken for a counter")
        failures += 1
    if failures:
        return 1
    print("all prometheus_check checks passed (%d broken scrapes found)" % len(BAD))
    return 0


if __name__ == "__main__":
    sys.exit(main())
