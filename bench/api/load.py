"""load.py: an open-loop load of HTTP GETs on sluice's service, for
bench/e2e (API_RATE) and by hand.

  load.py URL [--pipe NAME | --path PATH] [--token-file FILE] [--rate N]
          [--connections N] [--stop-file FILE] [--seconds S]
          [--timeout S] [--wait-ready S]

Request k is due at start + k / RATE whatever became of those before it
(open loop): CONNECTIONS threads, each with one keep-alive connection
(http.client), take the next due request in turn, wait for its time, send
it and read the whole answer. The latency of a request is measured from
its due time, not from when it was sent, so answers that come late delay
the requests after them and that delay is counted (no coordinated
omission); late_p99_ms says how late requests were sent (the generator's
own lag, or every connection waiting on the server).

The path is /v1/pipes/NAME (the pipe's status, with --pipe) or PATH (say
/health); --token-file sends `Authorization: Bearer` with its first line.
With --wait-ready it first asks until the path answers 200, then starts
the schedule. It runs until SIGTERM or SIGINT, until the stop file
exists, or for --seconds; then it waits for the answers under way (at
most --timeout) and prints `key value` lines on stdout:

  count N             requests answered or failed
  errors N            failures: no answer, or a status other than 200
  seconds S           from the first due time to the last answer
  rate_offered R      requests sent a second (from the first due time
                      to the last sending)
  rate_achieved R     answers of status 200 a second
  p50_ms, p99_ms, max_ms   latency of all requests, from their due time
  late_p99_ms L       how late requests were sent, p99
  answer_p99_ms A     from sending to the whole answer, p99 (the server's
                      part, without the wait for a free connection)
  ready_s S           the wait of --wait-ready (0 without)
  cpu_s C             load.py's own CPU seconds
  status_NNN N        one line per status other than 200 (000: no answer)

The first failure's message goes to stderr. Python 3 standard library
only."""
import argparse
import http.client
import os
import signal
import sys
import threading
import time
import urllib.parse


def parse_args():
    p = argparse.ArgumentParser(description="open-loop GETs on sluice's HTTP service")
    p.add_argument("url", help="http://HOST:PORT")
    p.add_argument("--pipe", help="GET /v1/pipes/PIPE")
    p.add_argument("--path", help="GET PATH (instead of --pipe)")
    p.add_argument("--token-file", help="Authorization: Bearer <first line of the file>")
    p.add_argument("--rate", type=float, default=200.0, help="requests a second (200)")
    p.add_argument("--connections", type=int, default=8, help="threads, each a connection (8)")
    p.add_argument("--stop-file", help="stop once this file exists")
    p.add_argument("--seconds", type=float, help="stop after this long")
    p.add_argument("--timeout", type=float, default=10.0, help="seconds a request may take (10)")
    p.add_argument("--wait-ready", type=float, default=0.0, metavar="S",
                   help="first ask every 10 ms, for at most S seconds, until the path answers 200")
    a = p.parse_args()
    if (a.pipe is None) == (a.path is None):
        p.error("give one of --pipe and --path")
    if a.rate <= 0 or a.connections < 1:
        p.error("--rate must be above 0 and --connections at least 1")
    return a


def percentile(sorted_values, q):
    """The nearest-rank percentile q (0-100) of a sorted list; 0 if empty."""
    if not sorted_values:
        return 0.0
    k = max(0, min(len(sorted_values) - 1, int(len(sorted_values) * q / 100.0 + 0.999999) - 1))
    return sorted_values[k]


class Load:
    """The schedule, the stop signal and the results the threads share."""

    def __init__(self, args):
        u = urllib.parse.urlsplit(args.url)
        if u.scheme != "http" or not u.hostname:
            sys.exit("load.py: URL must be http://HOST:PORT, not '%s'" % args.url)
        self.host, self.port = u.hostname, u.port or 80
        self.path = args.path or "/v1/pipes/" + urllib.parse.quote(args.pipe, safe="")
        self.headers = {}
        if args.token_file:
            with open(args.token_file) as f:
                self.headers["Authorization"] = "Bearer " + f.readline().strip()
        self.interval = 1.0 / args.rate
        self.timeout = args.timeout
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.next_k = 0
        self.start = None
        self.end = None  # with --seconds: no request is due after it
        self.latencies = []  # seconds from due time to the whole answer
        self.late = []  # seconds from due time to sending
        self.answer = []  # seconds from sending to the whole answer
        self.statuses = {}  # status (0: no answer) -> count, other than 200
        self.first_error = None
        self.last_sent = None
        self.last_answer = None

    def stopped(self, stop_file):
        """Whether to stop: a signal came or the stop file exists."""
        if stop_file and os.path.exists(stop_file):
            self.stop.set()
        return self.stop.is_set()

    def wait_ready(self, seconds, stop_file):
        """Ask until the path answers 200 (the service is up and, for a
        pipe, the pipe known), at most SECONDS; whether it did."""
        end = time.monotonic() + seconds
        while not self.stopped(stop_file) and time.monotonic() < end:
            conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            try:
                conn.request("GET", self.path, headers=self.headers)
                resp = conn.getresponse()
                resp.read()
                if resp.status == 200:
                    return True
            except (OSError, http.client.HTTPException):
                pass
            finally:
                conn.close()
            self.stop.wait(0.01)
        return False

    def take(self):
        """The due time of the next request, or None once stopping."""
        with self.lock:
            if self.stop.is_set():
                return None
            due = self.start + self.next_k * self.interval
            if self.end is not None and due >= self.end:
                return None
            self.next_k += 1
        return due

    def record(self, due, sent, done, status, error):
        with self.lock:
            self.latencies.append(done - due)
            self.late.append(sent - due)
            self.answer.append(done - sent)
            self.last_sent = max(sent, self.last_sent or sent)
            self.last_answer = max(done, self.last_answer or done)
            if status != 200:
                self.statuses[status] = self.statuses.get(status, 0) + 1
                if self.first_error is None:
                    self.first_error = error or "status %d" % status

    def worker(self):
        conn = None
        while True:
            due = self.take()
            if due is None:
                break
            delay = due - time.monotonic()
            if delay > 0 and self.stop.wait(delay):
                break
            sent = time.monotonic()
            status, error = 0, None
            try:
                if conn is None:
                    conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
                conn.request("GET", self.path, headers=self.headers)
                resp = conn.getresponse()
                body = resp.read()
                status = resp.status
                if status != 200:
                    error = "status %d: %s" % (status, body[:200].decode("utf-8", "replace"))
                if resp.will_close:
                    conn.close()
                    conn = None
            except (OSError, http.client.HTTPException) as e:
                error = "%s: %s" % (type(e).__name__, e)
                if conn is not None:
                    conn.close()
                conn = None
            self.record(due, sent, time.monotonic(), status, error)
        if conn is not None:
            conn.close()


def main():
    args = parse_args()
    load = Load(args)
    signal.signal(signal.SIGTERM, lambda *_: load.stop.set())
    signal.signal(signal.SIGINT, lambda *_: load.stop.set())
    began = time.monotonic()
    ready = True
    if args.wait_ready > 0:
        ready = load.wait_ready(args.wait_ready, args.stop_file)
        if not ready and not load.stop.is_set():
            print("load.py: %s did not answer 200 within %g s; loading anyway"
                  % (load.path, args.wait_ready), file=sys.stderr)
    ready_s = time.monotonic() - began
    load.start = time.monotonic() + 0.05
    threads = [threading.Thread(target=load.worker, daemon=True) for _ in range(args.connections)]
    for t in threads:
        t.start()
    load.end = load.start + args.seconds if args.seconds else None
    while not load.stop.wait(0.05):
        load.stopped(args.stop_file)
        if load.end is not None and time.monotonic() >= load.end:
            load.stop.set()
    for t in threads:
        t.join(args.timeout + 1)

    with load.lock:
        lat = sorted(load.latencies)
        late = sorted(load.late)
        answer = sorted(load.answer)
        statuses = dict(load.statuses)
        last_sent, last = load.last_sent, load.last_answer
    count = len(lat)
    errors = sum(statuses.values())
    seconds = (last - load.start) if count else 0.0
    # the k-th of count requests is sent k intervals after the first
    sending = (last_sent - load.start) if count > 1 else 0.0
    ms = lambda s: "%.1f" % (s * 1000.0)
    print("count %d" % count)
    print("errors %d" % errors)
    print("seconds %.2f" % seconds)
    print("rate_offered %.1f" % ((count - 1) / sending if sending > 0 else 0.0))
    print("rate_achieved %.1f" % ((count - errors) / seconds if seconds else 0.0))
    print("p50_ms %s" % ms(percentile(lat, 50)))
    print("p99_ms %s" % ms(percentile(lat, 99)))
    print("max_ms %s" % ms(lat[-1] if lat else 0.0))
    print("late_p99_ms %s" % ms(percentile(late, 99)))
    print("answer_p99_ms %s" % ms(percentile(answer, 99)))
    print("ready_s %.2f" % ready_s)
    print("cpu_s %.2f" % time.process_time())
    for status in sorted(statuses):
        print("status_%03d %d" % (status, statuses[status]))
    if load.first_error:
        print("load.py: first failure: %s" % load.first_error, file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
