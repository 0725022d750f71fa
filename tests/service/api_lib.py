"""api_lib.py: what the tests of the control API share: a `sluice run` of
their own (a SQLite store and the in-memory test plugins, the API on a
free loopback port, tokens in files), calls over HTTP or HTTPS that keep
the path as written, and the check of every answer against
docs/openapi.json (python3-jsonschema, draft 2020-12, each $ref resolved
in the document)."""
import http.client
import json
import os
import re
import signal
import socket
import ssl
import subprocess
import tempfile
import time

import jsonschema

try:  # jsonschema 4.18 and later resolve $ref through `referencing`
    import referencing
    import referencing.jsonschema
except ImportError:  # Debian 12's python3-jsonschema 4.10: RefResolver
    referencing = None

FULL_TOKEN = "full-Token-7f3a9c2e41d8b65f0a1e"
READ_TOKEN = "read-Token-2b8e6d0c95a4f1370c6d"
# planted in the pipes' configuration: never in an answer
SECRETS = ["Planted-Password-1", "Planted-Userinfo-2", "Planted-Query-3"]

failures = []


def fail(message):
    failures.append(message)
    print(f"FAIL: {message}", flush=True)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Document:
    """docs/openapi.json, and the check of an answer against it."""

    def __init__(self, source_dir):
        with open(os.path.join(source_dir, "docs", "openapi.json"), encoding="utf-8") as f:
            self.doc = json.load(f)
        if referencing:
            resource = referencing.Resource.from_contents(
                self.doc, default_specification=referencing.jsonschema.DRAFT202012)
            self.registry = referencing.Registry().with_resource("urn:sluice:openapi", resource)
        self.templates = []
        for path in self.doc["paths"]:
            pattern = "^" + re.sub(r"\\{\w+\\}", "[^/]+", re.escape(path)) + "$"
            self.templates.append((path, re.compile(pattern)))
        self.seen = set()  # (path template, method, status)

    def resolve(self, node):
        while "$ref" in node:
            target = self.doc
            for part in node["$ref"][2:].split("/"):
                target = target[part.replace("~1", "/").replace("~0", "~")]
            node = target
        return node

    def validator(self, schema):
        """A draft 2020-12 validator of `schema`, whose $refs point into
        the document."""
        if referencing:
            wrapped = dict(schema)
            if "$ref" in wrapped:
                wrapped["$ref"] = "urn:sluice:openapi" + wrapped["$ref"]
            return jsonschema.Draft202012Validator(wrapped, registry=self.registry)
        resolver = jsonschema.RefResolver.from_schema(self.doc)
        return jsonschema.Draft202012Validator(schema, resolver=resolver)

    def template(self, path):
        path = path.split("?", 1)[0]
        # a literal path first (/v1/maintenance/run before .../{id})
        for t, _ in self.templates:
            if t == path:
                return t
        for t, pattern in self.templates:
            if pattern.match(path):
                return t
        return None

    def validate_schema(self, schema, value, where):
        v = self.validator(schema)
        errors = sorted(v.iter_errors(value), key=lambda e: list(e.absolute_path))
        for e in errors[:5]:
            at = "/".join(str(p) for p in e.absolute_path)
            fail(f"{where}: does not match the document at '{at}': {e.message[:300]}")
        return not errors

    def response_of(self, method, path, status):
        """The documented answer, or None with the reason."""
        t = self.template(path)
        if t is None:
            if status == 404:
                return self.resolve({"$ref": "#/components/responses/NotFound"}), "any path"
            return None, "no such path in the document"
        item = self.doc["paths"][t]
        op = item.get(method.lower())
        if op is None:
            if status == 405:
                return self.resolve({"$ref": "#/components/responses/MethodNotAllowed"}), t
            return None, f"{method} {t} is not in the document"
        r = op["responses"].get(str(status))
        if r is None:
            return None, f"{method} {t} documents no {status}"
        self.seen.add((t, method.lower(), str(status)))
        return self.resolve(r), t

    def check(self, method, path, status, headers, body, response=None):
        """Fails unless the answer is one the document describes: that of
        its path, method and status, or the component `response` names
        (NotFound for every path of a program whose API is off)."""
        where = f"{method} {path[:120]} -> {status}"
        if response:
            r, t = self.resolve({"$ref": "#/components/responses/" + response}), response
        else:
            r, t = self.response_of(method, path, status)
        if r is None:
            fail(f"{where}: {t}")
            return None
        for h in r.get("headers", {}):
            if h.lower() not in headers:
                fail(f"{where}: no header {h}")
        content = r.get("content", {})
        if not content:
            return None
        ctype = headers.get("content-type", "")
        media = next((c for c in content if ctype.startswith(c)), None)
        if media is None:
            fail(f"{where}: Content-Type '{ctype}', the document says {list(content)}")
            return None
        if media != "application/json":
            return body
        try:
            value = json.loads(body)
        except ValueError as e:
            fail(f"{where}: not JSON ({e}): {body[:200]!r}")
            return None
        self.validate_schema(content[media]["schema"], value, where)
        if status >= 400 and isinstance(value, dict) and isinstance(value.get("error"), dict):
            if value["error"].get("status") != status:
                fail(f"{where}: error.status is {value['error'].get('status')}")
        return value

    def operations(self):
        for path, item in self.doc["paths"].items():
            for method in ["get", "post", "put", "patch", "delete"]:
                if method in item:
                    yield path, method, item[method]


class Answer:
    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, headers, body
        self.json = None

    def __repr__(self):
        return f"{self.status} {self.body[:300]!r}"


class Client:
    """Calls that send the path as written (http.client does not
    normalise), each on a connection of its own; every answer is checked
    against the document and kept for the secrets check."""

    def __init__(self, port, doc, tls_ca=None):
        self.port, self.doc, self.tls_ca = port, doc, tls_ca
        self.answers = []

    def connection(self, timeout=70):
        if self.tls_ca:
            ctx = ssl.create_default_context(cafile=self.tls_ca)
            return http.client.HTTPSConnection("127.0.0.1", self.port, timeout=timeout,
                                               context=ctx)
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)

    def call(self, method, path, token=None, body=None, headers=None, check=True,
             response=None, timeout=70):
        h = dict(headers or {})
        if token:
            h["Authorization"] = f"Bearer {token}"
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
            h.setdefault("Content-Type", "application/json")
        elif isinstance(body, str):
            body = body.encode()
        c = self.connection(timeout)
        try:
            c.request(method, path, body=body, headers=h)
            r = c.getresponse()
            a = Answer(r.status, {k.lower(): v for k, v in r.getheaders()}, r.read())
        finally:
            c.close()
        self.answers.append((method, path, a))
        if check:
            a.json = self.doc.check(method, path, a.status, a.headers, a.body, response)
        return a

    def expect(self, status, method, path, token=None, body=None, names=None, **kw):
        a = self.call(method, path, token, body, **kw)
        if a.status != status:
            fail(f"{method} {path[:120]}: expected {status}, got {a!r}")
        elif names and names not in a.body.decode(errors="replace"):
            fail(f"{method} {path[:120]}: the message does not name '{names}': {a!r}")
        return a


def raw_request(port, data, timeout=10, read=True):
    """Sends bytes as they are and reads the answer until the server
    closes the connection or stops sending: (status or None, text)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        s.sendall(data)
        if not read:
            return s
        chunks = []
        try:
            while True:
                c = s.recv(65536)
                if not c:
                    break
                chunks.append(c)
                if b"\r\n\r\n" in b"".join(chunks) and _complete(b"".join(chunks)):
                    break
        except (socket.timeout, ConnectionResetError):
            pass
    finally:
        if read:
            s.close()
    text = b"".join(chunks)
    m = re.match(rb"HTTP/1\.[01] (\d{3})", text)
    return (int(m.group(1)) if m else None), text


def _complete(text):
    head, _, body = text.partition(b"\r\n\r\n")
    m = re.search(rb"(?i)\r\ncontent-length:\s*(\d+)", head)
    return bool(m) and len(body) >= int(m.group(1))


def write_token(path, token, mode=0o600):
    with open(path, "w") as f:
        f.write(token + "\n")
    os.chmod(path, mode)


class Sluice:
    """`sluice run` of a configuration, its log in a file."""

    def __init__(self, sluice, tmp, name, ini):
        self.tmp = tmp
        self.ini = os.path.join(tmp, f"{name}.ini")
        self.log = os.path.join(tmp, f"{name}.log")
        with open(self.ini, "w") as f:
            f.write(ini)
        env = dict(os.environ)
        env["SLUICE_STORE"] = "sqlite:" + os.path.join(tmp, f"{name}.db")
        self.env = env
        self.proc = subprocess.Popen([sluice, "run", self.ini], stdout=open(self.log, "ab"),
                                     stderr=subprocess.STDOUT, env=env)

    def log_text(self):
        with open(self.log, encoding="utf-8", errors="replace") as f:
            return f.read()

    def alive(self):
        return self.proc.poll() is None

    def wait(self, what, seconds, check):
        """wait_for, but failing at once when sluice run has ended."""
        def ended_or(check):
            if not self.alive():
                raise EndedError
            return check()
        try:
            return wait_for(what, seconds, lambda: ended_or(check))
        except EndedError:
            fail(f"sluice run ended (status {self.proc.returncode}) while waiting for {what}")
            return False

    def stop(self):
        if self.alive():
            self.proc.send_signal(signal.SIGTERM)
            try:
                return self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                fail("sluice run did not stop within 30 s of SIGTERM")
                return None
        return self.proc.returncode


class EndedError(Exception):
    pass


def wait_for(what, seconds, check):
    end = time.time() + seconds
    while time.time() < end:
        try:
            if check():
                return True
        except (OSError, http.client.HTTPException):
            pass
        time.sleep(0.2)
    fail(f"timed out waiting for {what}")
    return False


def service_ini(port, extra=""):
    return f"""[service]
http_listen = 127.0.0.1:{port}
{extra}
"""


def pipes_ini(tmp):
    """A pipe that runs, one to delete, and one whose sink fails saying
    its secrets; the configuration plants secrets in each."""
    out = os.path.join(tmp, "out.jsonl")
    sink = f"""output = {out}
password = {SECRETS[0]}
url = http://ann:{SECRETS[1]}@ch.example:8123/?token={SECRETS[2]}
"""
    return f"""
[pipe orders]
source = memory_source
sink = memory_sink
sync_interval = 1s
[pipe orders.source]
tables = x, y
rows = 50
changes = 5
change_every = 200ms
[pipe orders.sink]
{sink}
[pipe spare]
source = memory_source
sink = memory_sink
[pipe spare.source]
tables = s
rows = 5
[pipe spare.sink]
{sink.replace('out.jsonl', 'spare.jsonl')}
[pipe leaky]
source = memory_source
sink = memory_sink
[pipe leaky.source]
tables = l
rows = 3
[pipe leaky.sink]
{sink.replace('out.jsonl', 'leaky.jsonl')}leak = the sink said {SECRETS[0]} and {SECRETS[1]}
"""


def no_secrets(client, sluice_log, extra=()):
    """Neither token, nor a planted secret, in any answer; no token in
    the log."""
    planted = [FULL_TOKEN, READ_TOKEN] + SECRETS + list(extra)
    for method, path, a in client.answers:
        text = a.body.decode(errors="replace") + json.dumps(a.headers)
        for p in planted:
            if p in text:
                fail(f"{method} {path[:80]}: the answer holds '{p}'")
    for p in [FULL_TOKEN, READ_TOKEN]:
        if p in sluice_log:
            fail(f"sluice's log holds the token '{p}'")


def make_tmp():
    return tempfile.mkdtemp(prefix="sluice-api-")
