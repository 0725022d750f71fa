#!/usr/bin/env python3
"""test_api_bad_input.py SLUICE SOURCE_DIR: bad input to the control API
gets a 4xx and leaves `sluice run` well. Bodies with unknown fields and
wrong types (400 naming the field), bodies deeply nested or not UTF-8,
a 10 MiB body and a chunked one over the limit (413), slow clients (a
half header, a half body: others are answered meanwhile, and they are
dropped in time), path tricks (.., %2e%2e, %00, //, a 100 KiB URL, a
100 KiB header, a request line that is not HTTP), sent over raw sockets
where a client library would tidy them. Afterwards the process still
answers /health and /v1/pipes, and stops cleanly."""
import json
import os
import select
import shutil
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from api_lib import (FULL_TOKEN, READ_TOKEN, Client, Document, Sluice, fail,  # noqa: E402
                     failures, free_port, make_tmp, no_secrets, pipes_ini,
                     raw_request, service_ini, wait_for, write_token)

sluice_bin, source_dir = sys.argv[1], sys.argv[2]
doc = Document(source_dir)
tmp = make_tmp()
F = FULL_TOKEN
AUTH = f"Authorization: Bearer {F}\r\n"


def head(method, path, extra=""):
    return (f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{AUTH}{extra}").encode()


def expect_4xx(what, status, text):
    if status is None or not 400 <= status < 500:
        fail(f"{what}: expected a 4xx, got {status}: {text[:200]!r}")
        return
    # an answer of /v1 in JSON has the error shape
    _, _, body = text.partition(b"\r\n\r\n")
    if b"application/json" in text.split(b"\r\n\r\n")[0].lower():
        try:
            value = json.loads(body)
        except ValueError:
            fail(f"{what}: a JSON answer that is not JSON: {body[:200]!r}")
            return
        doc.validate_schema({"$ref": "#/components/schemas/Error"}, value, what)


def bodies(c):
    """Unknown fields and wrong types: 400 naming the field."""
    posts = ["/v1/pipes/orders/pause", "/v1/pipes/orders/resume", "/v1/pipes/orders/resync",
             "/v1/pipes/orders/tables/add", "/v1/pipes/orders/tables/remove",
             "/v1/subscriptions/orders/pause", "/v1/subscriptions/orders/resume",
             "/v1/maintenance/run"]
    for p in posts:
        body = {"tables": ["x"], "bogus_field": 1} if "tables" in p else {"bogus_field": 1}
        c.expect(400, "POST", p, F, body, names="bogus_field")
        for bad in ["[1, 2]", '"text"', "42", "null", "{", '{"a":1}}', "{'a': 1}",
                    '{"tables": ["x"]} trailing']:
            a = c.call("POST", p, F, bad, headers={"Content-Type": "application/json"})
            if a.status != 400:
                fail(f"POST {p} with the body {bad!r}: {a!r}")
    for p in ["/v1/pipes/orders/pause", "/v1/pipes/orders/resync"]:
        c.expect(400, "POST", p, F, {"tables": ["x"]}, names="tables")
        c.expect(400, "POST", p, F, {"dry_run": True}, names="dry_run")
    add, remove = "/v1/pipes/orders/tables/add", "/v1/pipes/orders/tables/remove"
    for body, field in [({"tables": [1]}, "tables"), ({"tables": None}, "tables"),
                        ({"tables": {"x": 1}}, "tables"), ({"tables": [["x"]]}, "tables"),
                        ({"tables": [""]}, "table"),
                        ({"tables": ["x"], "drop_destination": True}, "drop_destination")]:
        c.expect(400, "POST", add, F, body, names=field)
    for body, field in [({"tables": ["x"], "drop_destination": "false"}, "drop_destination"),
                        ({"tables": ["x"], "drop_destination": 0}, "drop_destination"),
                        ({"tables": "x"}, "tables")]:
        c.expect(400, "POST", remove, F, body, names=field)
    for body, field in [({"as_of": 1767225600}, "as_of"), ({"as_of": "2026-13-45T99:00:00Z"}, "as_of"),
                        ({"as_of": ["2026-01-01T00:00:00Z"]}, "as_of"), ({"dry_run": 1}, "dry_run"),
                        ({"dry_run": "true"}, "dry_run")]:
        c.expect(400, "POST", "/v1/maintenance/run", F, body, names=field)
    # nested deep (a parser that recurses must not overflow its stack)
    for deep in ["[" * 60000, '{"a":' * 10000 + "1" + "}" * 10000]:
        a = c.call("POST", "/v1/pipes/orders/pause", F, deep,
                   headers={"Content-Type": "application/json"})
        if a.status != 400:
            fail(f"a body nested {len(deep)} deep: {a!r}")
    # not UTF-8, a NUL inside a string
    for raw in [b'{"tables": ["\xff\xfe"]}', b'{"tables": ["a\\u0000b"]}']:
        a = c.call("POST", add, F, raw, headers={"Content-Type": "application/json"})
        if a.status != 400:
            fail(f"the body {raw!r}: {a!r}")
    # bad queries
    for q in ["/v1/events?limit=-1", "/v1/events?limit=99999999999999999999",
              "/v1/events?since=2026-13-01T00:00:00Z", "/v1/events?after=x%00y",
              "/v1/pipes/orders/requests?limit=1e3", "/v1/events?limit=1.5"]:
        a = c.call("GET", q, F)
        if a.status != 400:
            fail(f"GET {q}: {a!r}")


def send_body(port, data_head, total, chunk=65536, chunked=False):
    """Sends a head, then up to `total` bytes of body while the server
    has not answered: the status, or None."""
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    s.sendall(data_head)
    sent, answer = 0, b""
    block = (b"x" * chunk)
    try:
        while sent < total:
            r, _, _ = select.select([s], [], [], 0)
            if r:
                break
            piece = block if not chunked else b"%x\r\n" % len(block) + block + b"\r\n"
            s.sendall(piece)
            sent += len(block)
        if chunked and sent >= total:
            s.sendall(b"0\r\n\r\n")
        s.settimeout(30)
        while b"\r\n\r\n" not in answer:
            c = s.recv(65536)
            if not c:
                break
            answer += c
    except (BrokenPipeError, ConnectionResetError):
        try:
            answer += s.recv(65536)
        except OSError:
            pass
    finally:
        s.close()
    if not answer.startswith(b"HTTP/1."):
        return None, answer
    return int(answer[9:12]), answer


def huge_bodies(port):
    size = 10 * 1024 * 1024
    h = head("POST", "/v1/pipes/orders/pause",
             f"Content-Type: application/json\r\nContent-Length: {size}\r\n\r\n")
    status, text = send_body(port, h, size)
    if status != 413:
        fail(f"a 10 MiB body: {status} {text[:200]!r}")
    h = head("POST", "/v1/pipes/orders/tables/add",
             "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
    status, text = send_body(port, h, 2 * 1024 * 1024, chunked=True)
    if status != 413:
        fail(f"a chunked body of 2 MiB: {status} {text[:200]!r}")


def path_tricks(port):
    cases = [
        ("..", b"GET /v1/../etc/passwd HTTP/1.1\r\nHost: x\r\n" + AUTH.encode() + b"\r\n"),
        ("%2e%2e", head("GET", "/v1/pipes/%2e%2e") + b"\r\n"),
        ("..%2f", head("GET", "/v1/pipes/..%2f..%2f..%2fetc%2fpasswd") + b"\r\n"),
        ("%00", head("GET", "/v1/pipes/a%00b") + b"\r\n"),
        ("%00 in a change", head("POST", "/v1/pipes/orders%00/pause", "Content-Length: 0\r\n") + b"\r\n"),
        ("not UTF-8", head("GET", "/v1/pipes/%ff%fe") + b"\r\n"),
        ("//", head("GET", "//v1/pipes") + b"\r\n"),
        ("/v1//pipes", head("GET", "/v1//pipes") + b"\r\n"),
        ("a 10 KiB name", head("GET", "/v1/pipes/" + "p" * 10240) + b"\r\n"),
        ("a 100 KiB URL", head("GET", "/v1/pipes/" + "a" * (100 * 1024)) + b"\r\n"),
        ("a 100 KiB query", head("GET", "/v1/events?topic=" + "t" * (100 * 1024)) + b"\r\n"),
        ("a 100 KiB header", head("GET", "/v1/pipes", "X-Big: " + "b" * (100 * 1024) + "\r\n") + b"\r\n"),
        ("a 100 KiB token", f"GET /v1/pipes HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {'t' * 102400}\r\n\r\n".encode()),
        ("a request line that is not HTTP", b"GARBAGE\r\n\r\n"),
        ("no method", b" /v1/pipes HTTP/1.1\r\nHost: x\r\n\r\n"),
        ("a bare LF header", b"GET /v1/pipes HTTP/1.1\nHost: x\n\x00\x01\x02\n\n"),
        ("a bad Content-Length", head("POST", "/v1/pipes/orders/pause", "Content-Length: -5\r\n") + b"\r\n"),
    ]
    for what, data in cases:
        try:
            status, text = raw_request(port, data)
        except OSError as e:
            fail(f"{what}: {e}")
            continue
        if status is None and what in ("a request line that is not HTTP", "no method",
                                       "a bare LF header"):
            continue  # closing the connection without a word is fair there
        expect_4xx(what, status, text)
        if "passwd" in what and b"root:" in text:
            fail(f"{what}: /etc/passwd served")


def slow_clients(c, port):
    """Clients that send half a header or half a body and wait: the
    others are answered meanwhile; they are dropped in the end."""
    slow = []
    for i in range(8):
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        s.sendall(b"GET /v1/pipes HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthoriz")
        slow.append(s)
    for i in range(4):
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        s.sendall(head("POST", "/v1/pipes/orders/pause",
                       "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n") + b'{"')
        slow.append(s)
    time.sleep(1)
    for i in range(10):
        t0 = time.time()
        a = c.expect(200, "GET", "/v1/pipes", F)
        if time.time() - t0 > 5:
            fail(f"a call took {time.time() - t0:.1f} s while slow clients wait")
        if c.call("GET", "/health").status != 503:  # leaky has failed
            fail("/health is not 503 (failing) while slow clients wait")
    if c.call("GET", "/v1/pipes/orders", F).json.get("state") != "running":
        fail("a half body was taken as a request")
    # each is dropped (closed, or answered 408) within a bound
    t0, open_ = time.time(), list(slow)
    while open_ and time.time() - t0 < 90:
        r, _, _ = select.select(open_, [], [], 1)
        for s in r:
            try:
                data = s.recv(4096)
            except OSError:
                data = b""
            if not data or data.startswith(b"HTTP/1."):
                if data and not data[9:10] == b"4":
                    fail(f"a slow client was answered {data[:40]!r}")
                open_.remove(s)
                s.close()
    if open_:
        fail(f"{len(open_)} slow client(s) still connected after 90 s")
    else:
        print(f"slow clients dropped after {time.time() - t0:.0f} s")
    for s in open_:
        s.close()


def many_connections(c, port):
    """Idle connections: below the service's limit, others are still
    answered; by the hundred, they are closed in the end and the service
    answers again."""
    def idle(n):
        socks = []
        try:
            for i in range(n):
                socks.append(socket.create_connection(("127.0.0.1", port), timeout=5))
        except OSError:
            pass
        return socks
    few = idle(30)
    a = c.call("GET", "/health", timeout=10)
    if a.status != 503:
        fail(f"/health with {len(few)} idle connections: {a!r}")
    many = idle(300)
    time.sleep(1)
    for s in few + many:
        s.close()
    wait_for("the service after 300 idle connections", 30,
             lambda: c.call("GET", "/health", timeout=10).status == 503)


port = free_port()
write_token(os.path.join(tmp, "full.token"), F)
write_token(os.path.join(tmp, "read.token"), READ_TOKEN)
ini = service_ini(port, f"api_token_file = {tmp}/full.token\n"
                        f"api_read_token_file = {tmp}/read.token\n") + pipes_ini(tmp)
run = Sluice(sluice_bin, tmp, "bad", ini)
c = Client(port, doc)
try:
    if run.wait("the API", 30, lambda: c.call("GET", "/v1/pipes", F, check=False).status == 200) and \
       run.wait("orders running", 60,
                lambda: (c.call("GET", "/v1/pipes/orders", F).json or {}).get("state") == "running"):
        bodies(c)
        huge_bodies(port)
        path_tricks(port)
        many_connections(c, port)
        slow_clients(c, port)
        # still well
        if not run.alive():
            fail("sluice run ended")
        else:
            c.expect(503, "GET", "/health")  # leaky has failed
            a = c.expect(200, "GET", "/v1/pipes", F)
            if a.json and len(a.json["pipes"]) != 3:
                fail(f"/v1/pipes after the bad input: {a.json}")
            a = c.expect(200, "GET", "/v1/pipes/orders", F)
            if a.json and (a.json["state"], [r["kind"] for r in a.json["requests"]]) != ("running", []):
                fail(f"bad input changed the pipe: {a.json['state']}, "
                     f"requests {[r['kind'] for r in a.json['requests']]}")
finally:
    status = run.stop()
if status != 0:
    fail(f"sluice run exited {status}")
log = run.log_text()
for word in ["Segmentation", "AddressSanitizer", "crashed", "Aborted", "signal 11"]:
    if word in log:
        fail(f"the log says '{word}'")
no_secrets(c, log)
if failures:
    print("--- the end of sluice's log:\n" + "\n".join(log.splitlines()[-30:]))
    print(f"{len(failures)} failure(s); the test's files are in {tmp}")
    sys.exit(1)
shutil.rmtree(tmp, ignore_errors=True)
print("bad input gets a 4xx and sluice run stays well")
