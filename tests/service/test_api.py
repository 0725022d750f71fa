#!/usr/bin/env python3
"""test_api.py SLUICE SOURCE_DIR: the control API of `sluice run` against
its document, docs/openapi.json. Every endpoint is called with every
method it takes, and with the errors it owes (400, 401, 403, 404, 405,
409, 413); every answer is checked against the document's schema for its
path, method and status (tests/service/api_lib.py), so that the program
and the document cannot drift apart; an endpoint of the document that no
call reached fails the test.

Access: no token or a wrong one gets 401 (with WWW-Authenticate), the
read token 403 on changes, and neither token nor a secret of the pipes'
configuration is in any answer, nor a token in the log. Further runs:
api_read_open (reads need no token, changes still do), the API off (404
naming api_token_file), a token file others can read (refused, naming
the file), and HTTPS with a certificate of the test's own."""
import json
import os
import shutil
import subprocess
import sys
import time
from urllib.parse import quote

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from api_lib import (FULL_TOKEN, READ_TOKEN, Client, Document, Sluice, fail,  # noqa: E402
                     failures, free_port, make_tmp, no_secrets, pipes_ini,
                     service_ini, wait_for, write_token)

sluice_bin, source_dir = sys.argv[1], sys.argv[2]
doc = Document(source_dir)
tmp = make_tmp()
F, R = FULL_TOKEN, READ_TOKEN


def state_of(c, pipe):
    a = c.call("GET", f"/v1/pipes/{pipe}", F)
    return a.json["state"] if a.status == 200 and a.json else None


def wait_request(c, a, what):
    """Follows a 202's Location until the request is over."""
    if a.status != 202 or not a.json:
        return None
    loc = a.headers.get("location", "")
    if loc != f"/v1/requests/{a.json['id']}":
        fail(f"{what}: Location is '{loc}', not /v1/requests/{a.json['id']}")
        return None
    r = c.expect(200, "GET", loc + "?wait=30", F)
    if r.json and r.json["status"] != "done":
        fail(f"{what}: the request ended {r.json['status']}: {r.json['message']}")
    return r.json


def reads(c):
    """Every read endpoint, with each way to be let in or kept out."""
    paths = ["/v1/pipes", "/v1/pipes/orders", "/v1/pipes/orders/history",
             "/v1/pipes/orders/requests", "/v1/topics", "/v1/topics/orders",
             "/v1/subscriptions", "/v1/subscriptions/orders", "/v1/events",
             "/v1/maintenance/reports", "/v1/plugins", "/v1/plugins/memory_sink"]
    for p in paths:
        c.expect(200, "GET", p, F)
        c.expect(200, "GET", p, R)
        a = c.expect(401, "GET", p)
        if a.json and a.json["error"]["message"] != "unauthorized":
            fail(f"GET {p} without a token: message '{a.json['error']['message']}'")
        if a.headers.get("www-authenticate", "").split(" ")[0] != "Bearer":
            fail(f"GET {p} without a token: WWW-Authenticate is "
                 f"'{a.headers.get('www-authenticate')}'")
        c.expect(401, "GET", p, "wrong-" + F)
        c.expect(401, "GET", p, F[:-1])
        c.expect(401, "GET", p, headers={"Authorization": F})
        c.expect(401, "GET", p, headers={"Authorization": f"Basic {F}"})
    pipes = c.call("GET", "/v1/pipes", F).json or {"pipes": []}
    names = [p["name"] for p in pipes["pipes"]]
    if names != sorted(names) or not {"orders", "spare", "leaky"} <= set(names):
        fail(f"/v1/pipes names {names}")
    detail = c.call("GET", "/v1/pipes/orders", F).json
    if detail and [t["name"] for t in detail["tables"]] != ["x", "y"]:
        fail(f"/v1/pipes/orders tables: {detail['tables']}")
    # the same figures as the CLI's --json (but for those that move)
    cli = subprocess.run([sluice_bin, "status", "--json"], capture_output=True, text=True,
                         env=run.env)
    if cli.returncode == 0:
        keys = lambda o: sorted(o["pipes"][0]) if o["pipes"] else []  # noqa: E731
        if keys(json.loads(cli.stdout)) != keys(pipes):
            fail("the fields of /v1/pipes differ from sluice status --json")
    # the session: what each token may do; never 401
    for token, access in [(None, "none"), (R, "read"), (F, "full"), ("wrong", "none")]:
        a = c.expect(200, "GET", "/v1/session", token)
        if a.json and (a.json["access"], a.json["read_open"]) != (access, False):
            fail(f"/v1/session with {token}: {a.json}")
    # served without a token: the document itself, the page
    a = c.expect(200, "GET", "/v1/openapi.json")
    if a.status == 200 and json.loads(a.body) != doc.doc:
        fail("/v1/openapi.json is not docs/openapi.json")
    for p in ["/", "/ui/app.js", "/ui/style.css", "/ui/icon.svg", "/metrics"]:
        c.expect(200, "GET", p)
    # failing (503): pipe leaky failed
    c.expect(503, "GET", "/health")


def pipe_requests(c):
    """Pause, resume, resync, tables add and remove, delete: 202 and the
    request followed to its end; 403 with the read token, 401 without;
    409 where the state refuses; 404, 400."""
    changes = [("POST", "/v1/pipes/orders/pause", {}), ("POST", "/v1/pipes/orders/resume", {}),
               ("POST", "/v1/pipes/orders/resync", {}),
               ("POST", "/v1/pipes/orders/tables/add", {"tables": ["z"]}),
               ("POST", "/v1/pipes/orders/tables/remove", {"tables": ["z"]}),
               ("DELETE", "/v1/pipes/spare", None),
               ("POST", "/v1/subscriptions/orders/pause", {}),
               ("POST", "/v1/subscriptions/orders/resume", {}),
               ("POST", "/v1/maintenance/run", {"dry_run": True})]
    for method, path, body in changes:
        c.expect(403, method, path, R, body)
        c.expect(401, method, path, None, body)
        c.expect(401, method, path, "wrong", body)
    if state_of(c, "orders") != "running":
        fail(f"orders is {state_of(c, 'orders')} after refused changes")

    wait_request(c, c.expect(202, "POST", "/v1/pipes/orders/pause", F), "pause")
    if state_of(c, "orders") != "paused":
        fail(f"orders is {state_of(c, 'orders')} after its pause")
    # paused: a second pause is refused, with the state
    a = c.expect(409, "POST", "/v1/pipes/orders/pause", F, {})
    if a.json and a.json["error"].get("state") != "paused":
        fail(f"409 of a pause of a paused pipe: {a.json}")
    # an empty body is an empty object
    wait_request(c, c.expect(202, "POST", "/v1/pipes/orders/resume", F, b""), "resume")
    a = c.expect(409, "POST", "/v1/pipes/orders/resume", F, {})
    if a.json and a.json["error"].get("state") != "running":
        fail(f"409 of a resume of a running pipe: {a.json}")
    req = wait_request(c, c.expect(202, "POST", "/v1/pipes/orders/tables/add", F,
                                   {"tables": ["z"]}), "tables add")
    if req and (req["kind"], req["tables"]) != ("tables add", ["z"]):
        fail(f"tables add request: {req}")
    wait_for("orders running again", 30, lambda: state_of(c, "orders") == "running")
    req = wait_request(c, c.expect(202, "POST", "/v1/pipes/orders/tables/remove", F,
                                   {"tables": ["z"], "drop_destination": False}), "tables remove")
    wait_for("orders running again", 30, lambda: state_of(c, "orders") == "running")
    wait_request(c, c.expect(202, "POST", "/v1/pipes/orders/resync", F), "resync")
    wait_for("orders running after its resync", 30, lambda: state_of(c, "orders") == "running")
    # bad tables
    c.expect(400, "POST", "/v1/pipes/orders/tables/remove", F, {"tables": ["nope"]}, names="nope")
    c.expect(400, "POST", "/v1/pipes/orders/tables/add", F, {"tables": []}, names="table")
    c.expect(400, "POST", "/v1/pipes/orders/tables/add", F, {}, names="table")
    c.expect(400, "POST", "/v1/pipes/orders/tables/add", F, {"tables": "z"}, names="tables")
    c.expect(400, "POST", "/v1/pipes/orders/tables/remove", F,
             {"tables": ["x"], "drop_destination": "yes"}, names="drop_destination")
    c.expect(400, "POST", "/v1/pipes/orders/pause", F, {"force": True}, names="force")
    c.expect(400, "POST", "/v1/pipes/orders/pause", F, "{not json")
    c.expect(400, "POST", "/v1/pipes/orders/pause", F, [])
    # no such pipe
    for method, path in [("GET", "/v1/pipes/nope"), ("GET", "/v1/pipes/nope/history"),
                         ("GET", "/v1/pipes/nope/requests"), ("POST", "/v1/pipes/nope/pause"),
                         ("POST", "/v1/pipes/nope/resume"), ("POST", "/v1/pipes/nope/resync"),
                         ("POST", "/v1/pipes/nope/tables/add"),
                         ("POST", "/v1/pipes/nope/tables/remove"), ("DELETE", "/v1/pipes/nope")]:
        body = {"tables": ["x"]} if "tables" in path else None
        c.expect(404, method, path, F, body, names="'nope'")
    # its requests: newest first, at most limit
    a = c.expect(200, "GET", "/v1/pipes/orders/requests?limit=2", F)
    if a.json:
        ids = [r["id"] for r in a.json["requests"]]
        if len(ids) != 2 or ids != sorted(ids, reverse=True):
            fail(f"/v1/pipes/orders/requests?limit=2: ids {ids}")
    all_ = c.expect(200, "GET", "/v1/pipes/orders/requests", F).json
    if all_ and len(all_["requests"]) < 5:
        fail(f"orders has {len(all_['requests'])} requests")
    detail = c.call("GET", "/v1/pipes/orders", F).json
    if detail and all_ and detail["requests"] != all_["requests"][:5]:
        fail("the requests of /v1/pipes/orders are not its 5 most recent")
    for q in ["limit=0", "limit=1001", "limit=abc", "limit="]:
        c.expect(400, "GET", f"/v1/pipes/orders/requests?{q}", F, names="limit")
    first = all_["requests"][-1]["id"] if all_ else 1
    c.expect(200, "GET", f"/v1/requests/{first}", F)
    c.expect(200, "GET", f"/v1/requests/{first}", R)
    c.expect(401, "GET", f"/v1/requests/{first}")
    c.expect(200, "GET", f"/v1/requests/{first}?wait=0", F)
    for q in ["wait=61", "wait=-1", "wait=soon"]:
        c.expect(400, "GET", f"/v1/requests/{first}?{q}", F, names="wait")
    c.expect(404, "GET", "/v1/requests/99999999", F)
    a = c.call("GET", "/v1/requests/abc", F)
    if a.status not in (400, 404):
        fail(f"GET /v1/requests/abc: {a!r}")
    # a long poll of a request that is over answers at once
    t0 = time.time()
    c.expect(200, "GET", f"/v1/requests/{first}?wait=20", F)
    if time.time() - t0 > 5:
        fail("a wait on a request that is over did not answer at once")
    # a failed pipe refuses tables add, with its state
    a = c.expect(409, "POST", "/v1/pipes/leaky/tables/add", F, {"tables": ["m"]})
    if a.json and a.json["error"].get("state") != "failed":
        fail(f"409 of a tables add to a failed pipe: {a.json}")
    # delete: its requests go with it
    a = c.expect(202, "DELETE", "/v1/pipes/spare", F)
    if a.status == 202 and a.json:
        loc = a.headers.get("location", "")
        wait_for("the deleted pipe's request gone", 30,
                 lambda: c.call("GET", loc, F).status == 404)
    a = c.expect(202, "DELETE", "/v1/pipes/leaky", F, b"")
    if a.status == 202 and a.json:
        wait_for("leaky deleted", 30,
                 lambda: c.call("GET", a.headers.get("location", ""), F).status == 404)


def hub(c):
    """Topics, subscriptions, events and their pages, maintenance."""
    a = c.expect(200, "GET", "/v1/topics", F)
    if a.json and "orders" not in [t["name"] for t in a.json["topics"]]:
        fail(f"/v1/topics: {a.json}")
    c.expect(404, "GET", "/v1/topics/nope", F, names="'nope'")
    c.expect(404, "GET", "/v1/subscriptions/nope", F, names="'nope'")
    c.expect(404, "POST", "/v1/subscriptions/nope/pause", F, names="'nope'")
    c.expect(404, "POST", "/v1/subscriptions/nope/resume", F, names="'nope'")
    a = c.expect(200, "POST", "/v1/subscriptions/orders/pause", F)
    if a.json and a.json["state"] != "paused":
        fail(f"subscription pause: {a.json}")
    a = c.expect(200, "POST", "/v1/subscriptions/orders/resume", F, {})
    if a.json and a.json["state"] != "active":
        fail(f"subscription resume: {a.json}")
    c.expect(400, "POST", "/v1/subscriptions/orders/pause", F, {"now": 1}, names="now")
    # events, a page at a time: the pages together are the whole listing
    whole = c.expect(200, "GET", "/v1/events?limit=1000", F).json
    seen, after, pages = [], None, 0
    while pages < 200:
        q = "/v1/events?limit=7" + (f"&after={quote(after, safe='')}" if after else "")
        a = c.expect(200, "GET", q, F)
        if not a.json:
            break
        pages += 1
        if len(a.json["events"]) > 7:
            fail(f"{q}: {len(a.json['events'])} events")
        seen += a.json["events"]
        after = a.json["next"]
        if after is None:
            break
    if whole and whole["next"] is None:
        key = lambda e: (e["type"], e["id"])  # noqa: E731
        if [key(e) for e in seen][:len(whole["events"])] != [key(e) for e in whole["events"]]:
            fail("the pages of /v1/events are not the listing")
    types = {e["type"] for e in seen}
    if not {"publication", "subscription"} <= types:
        fail(f"/v1/events has types {types}")
    a = c.expect(200, "GET", "/v1/events?topic=orders&since=2000-01-01T00:00:00Z", F)
    if a.json and any(e.get("topic") not in ("orders", None) for e in a.json["events"]):
        fail("/v1/events?topic=orders has events of other topics")
    c.expect(200, "GET", "/v1/events?since=2999-01-01T00:00:00Z", F)
    c.expect(404, "GET", "/v1/events?topic=nope", F, names="'nope'")
    for q in ["since=yesterday", "limit=0", "limit=1001", "after=%%%"]:
        c.expect(400, "GET", f"/v1/events?{q}", F, names=q.split("=")[0])
    # a query parameter the endpoint does not take: ignored, or refused
    # naming it (the contract says nothing)
    a = c.call("GET", "/v1/events?colour=red", F)
    if a.status not in (200, 400) or (a.status == 400 and b"colour" not in a.body):
        fail(f"GET /v1/events?colour=red: {a!r}")
    # maintenance: a dry run, a run as of a time, its report
    a = c.expect(200, "POST", "/v1/maintenance/run", F, {"dry_run": True})
    if a.json and (a.json["event"], a.json["dry_run"]) != (None, True):
        fail(f"a dry run: {a.json}")
    a = c.expect(200, "POST", "/v1/maintenance/run", F,
                 {"as_of": "2026-01-01T00:00:00Z", "dry_run": False})
    event = a.json["event"] if a.json else None
    if a.json and a.json["as_of"] != "2026-01-01T00:00:00Z":
        fail(f"maintenance as_of: {a.json['as_of']}")
    c.expect(200, "POST", "/v1/maintenance/run", F)
    for body, field in [({"as_of": 5}, "as_of"), ({"as_of": "soon"}, "as_of"),
                        ({"dry_run": "yes"}, "dry_run"), ({"dryrun": True}, "dryrun")]:
        c.expect(400, "POST", "/v1/maintenance/run", F, body, names=field)
    a = c.expect(200, "GET", "/v1/maintenance/reports", F)
    if a.json:
        # the run's event: "id" of a system event ("event" of a report)
        ids = [r.get("id", r.get("event")) for r in a.json["reports"]]
        if event not in ids or ids != sorted(ids, reverse=True):
            fail(f"/v1/maintenance/reports: ids {ids}, the run was {event}")
        if any(r.get("kind", "maintenance") != "maintenance" for r in a.json["reports"]):
            fail("/v1/maintenance/reports: not only maintenance runs")
    a = c.expect(200, "GET", "/v1/maintenance/reports?limit=1", F)
    if a.json and len(a.json["reports"]) != 1:
        fail("/v1/maintenance/reports?limit=1")
    c.expect(400, "GET", "/v1/maintenance/reports?limit=x", F, names="limit")
    if event:
        a = c.expect(200, "GET", f"/v1/maintenance/reports/{event}", F)
        cli = subprocess.run([sluice_bin, "maintenance", "report", str(event), "--json"],
                             capture_output=True, text=True, env=run.env)
        if a.json and cli.returncode == 0 and json.loads(cli.stdout) != a.json:
            fail("/v1/maintenance/reports/ID differs from sluice maintenance report --json")
    c.expect(404, "GET", "/v1/maintenance/reports/99999999", F)
    a = c.call("GET", "/v1/maintenance/reports/x", F)
    if a.status not in (400, 404):
        fail(f"GET /v1/maintenance/reports/x: {a!r}")
    # plugins
    a = c.expect(200, "GET", "/v1/plugins", F)
    if a.json and not {"memory_source", "memory_sink"} <= {p["name"] for p in a.json["plugins"]}:
        fail(f"/v1/plugins: {[p['name'] for p in a.json['plugins']]}")
    a = c.expect(200, "GET", "/v1/plugins/memory_sink", F)
    if a.json and not any(o["name"] == "password" and o["secret"] for o in a.json["options"]):
        fail("/v1/plugins/memory_sink: no secret option password")
    c.expect(404, "GET", "/v1/plugins/nope", F, names="'nope'")


def methods(c):
    """A method a path does not take: 405 with Allow; a path that is not
    there: 404."""
    for method, path in [("PUT", "/v1/pipes"), ("POST", "/v1/pipes"), ("DELETE", "/v1/pipes"),
                         ("GET", "/v1/pipes/orders/pause"), ("PUT", "/v1/pipes/orders"),
                         ("DELETE", "/v1/topics"), ("POST", "/v1/events"),
                         ("GET", "/v1/maintenance/run"), ("PATCH", "/v1/requests/1"),
                         ("POST", "/v1/openapi.json")]:
        a = c.expect(405, method, path, F)
        if "allow" in a.headers:
            t = doc.template(path)
            documented = {m.upper() for m in doc.doc["paths"][t] if m != "parameters"}
            allowed = {m.strip() for m in a.headers["allow"].split(",")} - {"HEAD", "OPTIONS"}
            if allowed != documented:
                fail(f"{method} {path}: Allow '{a.headers['allow']}', documented {documented}")
    for path in ["/v1", "/v1/nope", "/v1/pipes/orders/nope", "/v1/pipes/orders/tables",
                 "/v1/topics/orders/x"]:
        c.expect(404, "GET", path, F)
    # an empty, "." or ".." part, or a "/" at the end: 400
    for path in ["/v1/", "/v1/pipes/", "/v1/pipes//history", "/v1/pipes/./history",
                 "/v1/pipes/orders/../orders"]:
        c.expect(400, "GET", path, F, response="BadRequest")


def too_large(c):
    """A body over 64 KiB: 413, and the process answers on."""
    big = {"tables": ["t%06d" % i for i in range(8000)]}
    c.expect(413, "POST", "/v1/pipes/orders/tables/add", F, big)
    c.expect(413, "POST", "/v1/maintenance/run", F, "x" * (64 * 1024 + 1))
    c.expect(200, "GET", "/v1/pipes", F)


def every_operation_called():
    for path, method, op in doc.operations():
        if not any((path, method) == (p, m) for p, m, _ in doc.seen):
            fail(f"no call reached {method.upper()} {path}")


# ---- the main run: both tokens ----
port = free_port()
write_token(os.path.join(tmp, "full.token"), F)
write_token(os.path.join(tmp, "read.token"), R)
ini = service_ini(port, f"api_token_file = {tmp}/full.token\n"
                        f"api_read_token_file = {tmp}/read.token\n") + pipes_ini(tmp)
run = Sluice(sluice_bin, tmp, "main", ini)
c = Client(port, doc)
try:
    if run.wait("the API", 30, lambda: c.call("GET", "/v1/pipes", F, check=False).status == 200) and \
       run.wait("orders running", 60, lambda: state_of(c, "orders") == "running") and \
       run.wait("leaky failed", 60, lambda: state_of(c, "leaky") == "failed"):
        reads(c)
        hub(c)
        pipe_requests(c)
        methods(c)
        too_large(c)
        every_operation_called()
        if not run.alive():
            fail("sluice run ended during the test")
finally:
    status = run.stop()
if status != 0:
    fail(f"sluice run exited {status}")
log = run.log_text()
no_secrets(c, log)
print(f"main run: {len(c.answers)} calls, {len(doc.seen)} (path, method, status) of the document")
if failures:
    print("--- the end of sluice's log:\n" + "\n".join(log.splitlines()[-30:]))

# ---- api_read_open: reads need no token, changes still do ----
port = free_port()
run = Sluice(sluice_bin, tmp, "open", service_ini(port, f"api_token_file = {tmp}/full.token\n"
                                                        "api_read_open = true\n") + pipes_ini(tmp))
c = Client(port, doc)
try:
    if run.wait("the API (read open)", 30, lambda: c.call("GET", "/v1/pipes", check=False).status == 200):
        for p in ["/v1/pipes", "/v1/pipes/orders", "/v1/topics", "/v1/subscriptions",
                  "/v1/events", "/v1/maintenance/reports", "/v1/plugins"]:
            c.expect(200, "GET", p)
            c.expect(200, "GET", p, F)
        a = c.expect(200, "GET", "/v1/session")
        if a.json and a.json != {"access": "read", "read_open": True}:
            fail(f"/v1/session, read open, no token: {a.json}")
        a = c.expect(200, "GET", "/v1/session", F)
        if a.json and a.json != {"access": "full", "read_open": True}:
            fail(f"/v1/session, read open, the full token: {a.json}")
        c.expect(401, "POST", "/v1/pipes/orders/pause")
        c.expect(401, "POST", "/v1/maintenance/run", body={"dry_run": True})
        c.expect(401, "DELETE", "/v1/pipes/orders")
        c.expect(401, "POST", "/v1/pipes/orders/pause", R)
        # a wrong token is refused, open reads or not
        c.expect(401, "GET", "/v1/pipes", "wrong-" + F)
finally:
    status = run.stop()
if status != 0:
    fail(f"sluice run (read open) exited {status}")
no_secrets(c, run.log_text())

# ---- the API off: /v1 and the page are not there; /health is ----
port = free_port()
run = Sluice(sluice_bin, tmp, "off", service_ini(port) + pipes_ini(tmp))
c = Client(port, doc)
try:
    if run.wait("the service (API off)", 30, lambda: c.call("GET", "/health", check=False).status
                in (200, 503)):
        for p in ["/v1/pipes", "/v1/openapi.json", "/v1/session", "/"]:
            c.expect(404, "GET", p, F, names="api_token_file", response="NotFound")
finally:
    run.stop()

# ---- a token file that others can read: a configuration error, for
# sluice check and sluice run alike, naming the file ----
write_token(os.path.join(tmp, "loose.token"), F, 0o644)
loose = service_ini(free_port(), f"api_token_file = {tmp}/loose.token\n") + pipes_ini(tmp)
with open(os.path.join(tmp, "loose.ini"), "w") as f:
    f.write(loose)
for cmd in (["check"], ["run"]):
    try:
        r = subprocess.run([sluice_bin, *cmd, os.path.join(tmp, "loose.ini")], capture_output=True,
                           text=True, env=run.env, timeout=20)
        out = r.stdout + r.stderr
        if r.returncode == 0 or "loose.token" not in out:
            fail(f"a token file others can read: sluice {cmd[0]} exits {r.returncode}: {out[-300:]}")
        if F in out:
            fail(f"sluice {cmd[0]} prints the token")
    except subprocess.TimeoutExpired:
        fail(f"a token file others can read: sluice {cmd[0]} still runs after 20 s")

# ---- HTTPS ----
port = free_port()
cert, key = os.path.join(tmp, "cert.pem"), os.path.join(tmp, "key.pem")
r = subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                    "-out", cert, "-days", "2", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1"], capture_output=True, text=True)
if r.returncode != 0:
    fail(f"openssl: {r.stderr}")
else:
    os.chmod(key, 0o600)
    run = Sluice(sluice_bin, tmp, "tls", service_ini(port, f"api_token_file = {tmp}/full.token\n"
                                                           f"tls_cert_file = {cert}\n"
                                                           f"tls_key_file = {key}\n") + pipes_ini(tmp))
    c = Client(port, doc, tls_ca=cert)
    try:
        if run.wait("the API over HTTPS", 30,
                    lambda: c.call("GET", "/v1/pipes", F, check=False).status == 200):
            a = c.expect(200, "GET", "/v1/pipes", F)
            if a.json and not a.json["pipes"]:
                fail("/v1/pipes over HTTPS: no pipes")
            c.expect(401, "GET", "/v1/pipes")
            c.expect(200, "GET", "/health")
            plain = Client(port, doc)
            try:
                a = plain.call("GET", "/v1/pipes", F, check=False, timeout=10)
                if a.status == 200:
                    fail("plain HTTP answered 200 on the HTTPS port")
            except (OSError, Exception):
                pass
            if not run.alive():
                fail("sluice run (HTTPS) ended after a plain HTTP call")
    finally:
        status = run.stop()
    if status != 0:
        fail(f"sluice run (HTTPS) exited {status}")
    no_secrets(c, run.log_text())

if failures:
    print(f"{len(failures)} failure(s); the test's files are in {tmp}")
    sys.exit(1)
shutil.rmtree(tmp, ignore_errors=True)
print("the control API matches docs/openapi.json")
