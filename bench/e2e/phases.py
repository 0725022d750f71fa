# phases.py: reads `perf script` of the uprobes that e2e.sh PHASES=1 sets on
# sluice and its plugins (an entry probe FN and a return probe FN_ret per
# function) and prints, per thread, the calls and time spent in each
# function: which phase of sluice run (source read, hub publish, hub take,
# sink write) the time goes to.
import collections
import re
import sys

LINE = re.compile(r'\s*\S+\s+(\d+)\s+\[\d+\]\s+([\d.]+):\s+probe_\w+:(\w+?)(_ret__return)?:')
opened = {}
total = collections.defaultdict(float)
calls = collections.Counter()
first, last = {}, {}
for line in sys.stdin:
    m = LINE.match(line)
    if not m:
        continue
    tid, at, fn, ret = m.group(1), float(m.group(2)), m.group(3), m.group(4)
    first.setdefault(tid, at)
    last[tid] = at
    if not ret:
        opened[(tid, fn)] = at
    elif (tid, fn) in opened:
        total[(tid, fn)] += at - opened.pop((tid, fn))
        calls[(tid, fn)] += 1
for tid in sorted(first, key=lambda t: first[t]):
    if not any(t == tid for t, _ in total):
        continue
    print(f"thread {tid}: from {first[tid] - min(first.values()):.1f} s "
          f"to {last[tid] - min(first.values()):.1f} s")
    for (t, fn), secs in sorted(total.items(), key=lambda kv: -kv[1]):
        if t == tid:
            n = calls[(t, fn)]
            print(f"  {fn:18s} {n:6d} calls {secs:8.2f} s {1000 * secs / n:9.1f} ms each")
