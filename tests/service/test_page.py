#!/usr/bin/python3
"""test_page.py SLUICE MONGO_SERVER OUTPUT_DIR: the status page at / in a
real browser. A `sluice run` with the HTTP service and the API on (a full
and a read-only token) moves two collections of the MongoDB test server
into memory_sink, while a few documents a second are inserted; Debian's
chromium, headless, driven over the Chrome DevTools Protocol
(python3-websocket), opens the page, which:

- shows no pipe and asks for a token before one is given, and with a
  wrong one says it was refused;
- takes the full token typed into that box (kept in sessionStorage, never
  in localStorage), then shows the pipe in its snapshot (held slow) with
  its tables' progress, then in state `running`, its tables,
  its history, its rows, recent events, the report of the maintenance
  run at the start;
- pauses it on a click of its button, after a dialog naming the pipe
  (accepted), shows `paused` and the request `done`; resumes it the same
  way and shows `running` and rows that grow again; resyncs it, the
  history showing the resync; the API (read here directly) agrees at
  each step;
- with the read-only token shows the pipe without the buttons;
- at a phone's width shows every table as cards, nothing wider than the
  screen;
- asks nothing of any other address (no CDN), throws no exception and
  puts no error in the console (a Content-Security-Policy violation).

Screenshots (snapshot.png, desktop.png, paused.png, phone.png; failed.png when a check
fails), the page's text and the logs of sluice and chromium stay in
OUTPUT_DIR, which the test prints.
"""
import base64
import ctypes
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

import pymongo
import websocket

TIMEOUT = 45            # seconds for anything the page or the pipe must reach
PIPE = "orders"
COLLS = ["a", "b"]
DOCS = 3000             # documents per collection
SLOW_MS = 500           # per command of the MongoDB test server during the snapshot
TOKEN = "page-test-full-token"
READ_TOKEN = "page-test-read-token"


class Failure(Exception):
    """A check that did not hold; the message says what differed."""


def log(msg):
    print("%s %s" % (time.strftime("%H:%M:%S"), msg), flush=True)


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(what, check, timeout=TIMEOUT, every=0.2):
    """Calls check until it returns something true, which it returns; a
    Failure naming `what` and the last value after timeout seconds."""
    deadline = time.time() + timeout
    last = None
    while True:
        last = check()
        if last:
            return last
        if time.time() > deadline:
            raise Failure("%s: not within %d s (last seen: %r)" % (what, timeout, last))
        time.sleep(every)


# ---------------------------------------------------------------- servers

def end_with_parent():
    """In a child before exec: SIGTERM when this test's process dies (a
    ctest timeout kills it), so that no server outlives it."""
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class Processes:
    """The processes this test starts, each ended by its own id (and its
    own process group, for chromium's children) when the test ends."""

    def __init__(self):
        self.procs = []

    def start(self, args, log_path=None, **kw):
        out = open(log_path, "ab") if log_path else subprocess.DEVNULL
        proc = subprocess.Popen(args, stdout=kw.pop("stdout", out), stderr=subprocess.STDOUT,
                                start_new_session=True, preexec_fn=end_with_parent, **kw)
        if log_path:
            out.close()
        self.procs.append(proc)
        return proc

    def stop(self, proc, sig=signal.SIGTERM, timeout=20):
        """Signals the process; its status, or None when it had to be
        killed."""
        if proc not in self.procs:
            return proc.returncode
        self.procs.remove(proc)
        if proc.poll() is None:
            proc.send_signal(sig)
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
                return None
        return proc.returncode

    def stop_all(self):
        for proc in list(reversed(self.procs)):
            self.stop(proc, timeout=10)


def start_mongo(procs, mongo_server):
    proc = procs.start([mongo_server, "--port", "0"], stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline().strip()
    if "listening on" not in line:
        raise Failure("mongo_test_server did not start: %r" % line)
    port = int(line.rsplit(":", 1)[1])
    return "mongodb://127.0.0.1:%d/?replicaSet=rs0" % port


def latency(uri, ms):
    """The MongoDB test server answers every command ms late (0: at once)."""
    client = pymongo.MongoClient(uri, serverSelectionTimeoutMS=10000)
    try:
        client.admin.command({"sluiceFault": "latency", "ms": ms})
    finally:
        client.close()


def load_source(uri, database):
    client = pymongo.MongoClient(uri, serverSelectionTimeoutMS=10000)
    try:
        for c in COLLS:
            client[database][c].insert_many(
                [{"_id": i, "n": i, "name": "doc %d" % i} for i in range(DOCS)])
    finally:
        client.close()


class Writer(threading.Thread):
    """Inserts a few documents a second into collection a while the test
    runs, so that the page has rows, rates and lag that move."""

    def __init__(self, uri, database):
        super().__init__(daemon=True)
        self.client = pymongo.MongoClient(uri, serverSelectionTimeoutMS=10000)
        self.coll = self.client[database][COLLS[0]]
        self.stopping = threading.Event()
        self.error = None

    def run(self):
        n = DOCS
        try:
            while not self.stopping.wait(0.2):
                self.coll.insert_many([{"_id": n + i, "n": n + i} for i in range(10)])
                n += 10
        except Exception as e:  # noqa: BLE001  reported by stop()
            self.error = e

    def stop(self):
        self.stopping.set()
        if self.is_alive():
            self.join(timeout=10)
        self.client.close()
        if self.error:
            raise Failure("writing to the MongoDB test server: %s" % self.error)


def secret_file(path, text):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text + "\n")
    return path


def sluice_ini(tmp, port, uri, database):
    return """[service]
http_listen = 127.0.0.1:{port}
progress = off
api_token_file = {full}
api_read_token_file = {read}

[pipe {pipe}]
source = source_mongo
sink = memory_sink
mode = snapshot+cdc
sync_interval = 1s
pull_batch_size = 200

[pipe {pipe}.source]
uri = {uri}
database = {db}
collections = {colls}
partition_size = 1000
batch_size = 100
max_await_time = 200ms

[pipe {pipe}.sink]
""".format(port=port, pipe=PIPE, uri=uri, db=database, colls=", ".join(COLLS),
           full=secret_file(os.path.join(tmp, "token"), TOKEN),
           read=secret_file(os.path.join(tmp, "read_token"), READ_TOKEN))


def api(base, path, token=TOKEN):
    """GET of the API with the token: (status, body as an object)."""
    req = urllib.request.Request(base + path, headers={"Authorization": "Bearer " + token})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read().decode())
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
    except OSError as e:
        return 0, str(e)


def api_state(base):
    status, body = api(base, "/v1/pipes/" + PIPE)
    return body.get("state") if status == 200 else None


# ---------------------------------------------------------------- browser

class Browser:
    """Headless chromium and one page of it, driven over the DevTools
    Protocol: commands wait for their answer; events are kept in
    `events`; a JavaScript dialog is accepted as soon as it opens (a
    user's yes) and its message kept in `dialogs`."""

    def __init__(self, procs, chromium, tmp, log_path):
        self.profile = os.path.join(tmp, "chromium-profile")
        os.makedirs(self.profile)
        args = [chromium, "--headless=new", "--remote-debugging-port=0",
                "--remote-debugging-address=127.0.0.1",
                "--user-data-dir=" + self.profile,
                "--no-first-run", "--no-default-browser-check", "--disable-gpu",
                "--disable-extensions", "--disable-sync", "--disable-background-networking",
                "--disable-component-update", "--disable-default-apps",
                "--disable-features=Translate,MediaRouter,OptimizationHints",
                "--metrics-recording-only", "--mute-audio", "--password-store=basic",
                "--window-size=1280,900", "about:blank"]
        # no sandbox: chromium refuses root without this, and a user's
        # sandbox needs namespaces that containers often refuse; the only
        # page it opens is sluice's own
        args.insert(1, "--no-sandbox")
        # a home of its own: nothing of the user's read, nothing left there
        home = os.path.join(tmp, "home")
        env = dict(os.environ, HOME=home, XDG_CONFIG_HOME=os.path.join(home, ".config"),
                   XDG_CACHE_HOME=os.path.join(home, ".cache"))
        self.proc = procs.start(args, log_path, env=env)
        self.procs = procs
        port = wait_for("chromium's DevTools port", self.devtools_port, timeout=30)
        targets = wait_for("chromium's page", lambda: [
            t for t in self.http_json(port, "/json/list") if t.get("type") == "page"], timeout=30)
        self.ws = websocket.create_connection(targets[0]["webSocketDebuggerUrl"],
                                              timeout=TIMEOUT, suppress_origin=True)
        self.next_id = 0
        self.events = []
        self.dialogs = []
        for domain in ("Page", "Runtime", "Network", "Log"):
            self.send(domain + ".enable")

    def devtools_port(self):
        if self.proc.poll() is not None:
            raise Failure("chromium exited with status %d" % self.proc.returncode)
        try:
            with open(os.path.join(self.profile, "DevToolsActivePort")) as f:
                return int(f.readline().strip())
        except (OSError, ValueError):
            return None

    @staticmethod
    def http_json(port, path):
        try:
            with urllib.request.urlopen("http://127.0.0.1:%d%s" % (port, path), timeout=5) as r:
                return json.loads(r.read().decode())
        except OSError:
            return []

    def send(self, method, **params):
        self.next_id += 1
        mine = self.next_id
        self.ws.send(json.dumps({"id": mine, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == mine:
                if "error" in msg:
                    raise Failure("DevTools %s: %s" % (method, msg["error"]))
                return msg.get("result", {})
            if "method" in msg:
                self.event(msg)

    def event(self, msg):
        self.events.append(msg)
        if msg["method"] == "Page.javascriptDialogOpening":
            self.dialogs.append(msg["params"].get("message", ""))
            self.ws.send(json.dumps({"id": 0, "method": "Page.handleJavaScriptDialog",
                                     "params": {"accept": True}}))

    def js(self, expression):
        """The value of a JavaScript expression (awaited when a promise);
        a Failure with the exception when it throws."""
        r = self.send("Runtime.evaluate", expression=expression, returnByValue=True,
                      awaitPromise=True)
        if "exceptionDetails" in r:
            raise Failure("JavaScript %r threw: %s" % (expression[:200], r["exceptionDetails"]))
        return r["result"].get("value")

    def navigate(self, url):
        self.send("Page.navigate", url=url)
        wait_for("the page loaded", lambda: self.js("document.readyState") == "complete")

    def click(self, selector):
        """A real click (mouse pressed and released) in the middle of the
        element, scrolled into view first."""
        box = self.js("""(() => { const e = document.querySelector(%s);
            if (!e) return null; e.scrollIntoView({block: "center"});
            const r = e.getBoundingClientRect();
            return [r.left + r.width / 2, r.top + r.height / 2, r.width, r.height]; })()"""
                      % json.dumps(selector))
        if not box or box[2] <= 0 or box[3] <= 0:
            raise Failure("nothing visible to click at %s (%r)" % (selector, box))
        for kind in ("mousePressed", "mouseReleased"):
            self.send("Input.dispatchMouseEvent", type=kind, x=box[0], y=box[1],
                      button="left", clickCount=1)

    def type_into(self, selector, text):
        self.js("document.querySelector(%s).focus()" % json.dumps(selector))
        self.send("Input.insertText", text=text)

    def screenshot(self, path):
        shot = self.send("Page.captureScreenshot", format="png", captureBeyondViewport=True)
        with open(path, "wb") as f:
            f.write(base64.b64decode(shot["data"]))
        log("screenshot: %s" % path)

    def exceptions(self):
        return [e["params"]["exceptionDetails"] for e in self.events
                if e["method"] == "Runtime.exceptionThrown"]

    def console_errors(self):
        """Errors of the console: the page's own, the browser's about it
        (a refused resource, a Content-Security-Policy violation)."""
        out = []
        for e in self.events:
            if e["method"] == "Log.entryAdded" and e["params"]["entry"]["level"] == "error":
                out.append("%s (%s)" % (e["params"]["entry"].get("text", ""),
                                        e["params"]["entry"].get("url", "")))
            elif e["method"] == "Runtime.consoleAPICalled" and e["params"]["type"] == "error":
                out.append(" ".join(str(a.get("value", a.get("description", "")))
                                    for a in e["params"]["args"]))
        return out

    def requested(self):
        return [e["params"]["request"]["url"] for e in self.events
                if e["method"] == "Network.requestWillBeSent"]

    def close(self):
        try:
            self.send("Browser.close")
        except Exception:  # noqa: BLE001  it may close before it answers
            pass
        try:
            self.ws.close()
        except Exception:  # noqa: BLE001
            pass
        self.procs.stop(self.proc, timeout=10)


# ---------------------------------------------------------------- the page

def row(pipe):
    return "document.querySelector('tr[data-pipe=\"' + CSS.escape(%s) + '\"]')" % json.dumps(pipe)


def shown_state(b, pipe):
    return b.js("(() => { const r = %s; const s = r && r.querySelector('.state');"
                " return s ? s.textContent : null; })()" % row(pipe))


def shown_rows(b, pipe):
    """The number in the Rows cell of the pipe's row; -1 when none."""
    text = b.js("(() => { const r = %s; const c = r && r.querySelector('td[data-label=Rows]');"
                " return c ? c.textContent : ''; })()" % row(pipe))
    digits = (text or "").replace(",", "")
    return int(digits) if digits.isdigit() else -1


def wait_shown(b, base, pipe, state):
    seen = []

    def shown():
        seen.append(shown_state(b, pipe))
        return seen[-1] == state

    try:
        wait_for("the page showing pipe %s %s" % (pipe, state), shown)
    except Failure:
        raise Failure("the page shows pipe %s %s after %d s, not %s (the API says %s)"
                      % (pipe, seen[-1], TIMEOUT, state, api_state(base)))


def request_outcome(b):
    return b.js("(() => { const o = document.getElementById('outcome');"
                " return [o.dataset.status || '', o.textContent]; })()")


def act(b, base, pipe, action, then):
    """Clicks ACTION's button of the pipe's row; the page must ask first
    (a dialog naming the pipe), then show `then` and the request done."""
    asked = len(b.dialogs)
    b.click("tr[data-pipe=%s] button[data-action=%s]" % (json.dumps(pipe), action))
    wait_for("the dialog asking to %s" % action, lambda: len(b.dialogs) > asked,
             timeout=10, every=0.1)
    if pipe not in b.dialogs[-1] or action not in b.dialogs[-1].lower():
        raise Failure("the dialog before %s does not name the pipe and what it does: %r"
                      % (action, b.dialogs[-1]))
    wait_shown(b, base, pipe, then)
    status, text = wait_for("the page showing the %s request done" % action,
                            lambda: request_outcome(b)[0] in ("done", "refused", "failed")
                            and request_outcome(b))
    if status != "done":
        raise Failure("the %s request: %s" % (action, text))
    log("page: %s" % text)
    if api_state(base) != then:
        raise Failure("the page shows %s, the API says %s" % (then, api_state(base)))


def check_page(b, base, out, release):
    """The page's checks; release() ends the slow snapshot and starts the
    writes, once the page has shown the snapshot's progress."""
    b.navigate(base + "/")
    # before a token: a token box, no pipe, the read view refused
    wait_for("the access level shown", lambda: b.js(
        "document.getElementById('access').dataset.access") == "none")
    if b.js("document.querySelectorAll('#pipes-body tr').length") != 0:
        raise Failure("pipes shown without a token")
    if not b.js("document.getElementById('token-form').classList.contains('wanted')"):
        raise Failure("no token box asked for without a token")

    # a wrong token: refused, said so, still no pipe
    b.type_into("#token", "not-the-token")
    b.click("#token-save")
    wait_for("a wrong token said to be refused", lambda: b.js(
        "document.getElementById('message').textContent.includes('refused')"))
    if b.js("document.querySelectorAll('#pipes-body tr').length") != 0:
        raise Failure("pipes shown with a wrong token")

    b.type_into("#token", TOKEN)
    b.click("#token-save")
    wait_for("full access shown", lambda: b.js(
        "document.getElementById('access').dataset.access") == "full")
    stored = b.js("[sessionStorage.getItem('sluice.token'), localStorage.length,"
                  " document.getElementById('token').value]")
    if stored != [TOKEN, 0, ""]:
        raise Failure("the token: sessionStorage, localStorage's length, the box: %r" % stored)

    # the snapshot, held slow: its tables' progress, then released
    wait_shown(b, base, PIPE, "snapshot")
    wait_for("the snapshot's progress shown, under way", lambda: b.js(
        "Array.from(document.querySelectorAll('#tables-body .bar'))"
        ".map(e => Number(e.getAttribute('aria-valuenow'))).some(v => v > 0 && v < 100)"))
    b.screenshot(os.path.join(out, "snapshot.png"))
    release()
    wait_shown(b, base, PIPE, "running")
    wait_for("the pipe's tables shown", lambda: b.js(
        "Array.from(document.querySelectorAll('#tables-body tr')).map(r => r.dataset.table)"
        ".sort().join(',')") == ",".join(COLLS))
    wait_for("the pipe's history shown", lambda: b.js(
        "document.getElementById('history-body').textContent.includes('running')"))
    wait_for("recent events shown", lambda: b.js(
        "document.querySelectorAll('#events-body tr[data-event]').length") > 0)
    wait_for("the report of the maintenance run at the start shown", lambda: b.js(
        "document.getElementById('reports-body').textContent.includes('deleted')"))
    wait_for("the snapshot's rows and the changes since shown",
             lambda: shown_rows(b, PIPE) > len(COLLS) * DOCS)
    b.screenshot(os.path.join(out, "desktop.png"))

    act(b, base, PIPE, "pause", "paused")
    b.screenshot(os.path.join(out, "paused.png"))
    act(b, base, PIPE, "resume", "running")
    rows = shown_rows(b, PIPE)
    wait_for("the rows shown growing after the resume (from %d)" % rows,
             lambda: shown_rows(b, PIPE) > rows)
    wait_for("the history showing the pause", lambda: b.js(
        "document.getElementById('history-body').textContent.includes('paused')"))

    # resync: the request done, the pipe through its resync back to running
    act(b, base, PIPE, "resync", "running")
    wait_for("the history showing the resync", lambda: b.js(
        "Array.from(document.querySelectorAll('#history-body td[data-label=To]'))"
        ".some(td => td.textContent === 'resync')"))
    wait_shown(b, base, PIPE, "running")

    # a phone: cards, nothing wider than the screen
    b.send("Emulation.setDeviceMetricsOverride", width=390, height=844,
           deviceScaleFactor=2, mobile=True)
    wait_for("the layout of a phone", lambda: b.js(
        "getComputedStyle(document.querySelector('#pipes thead')).display") == "none")
    wide = b.js("[document.documentElement.scrollWidth, window.innerWidth]")
    if wide[0] > wide[1]:
        raise Failure("at a phone's width the page is %d px wide for a %d px screen" % tuple(wide))
    b.screenshot(os.path.join(out, "phone.png"))
    b.send("Emulation.clearDeviceMetricsOverride")
    with open(os.path.join(out, "page.txt"), "w") as f:
        f.write(b.js("document.body.innerText"))

    # the read-only token: the pipe, no buttons
    b.click("#token-clear")
    wait_for("access gone with the token", lambda: b.js(
        "document.getElementById('access').dataset.access") == "none")
    b.type_into("#token", READ_TOKEN)
    b.click("#token-save")
    wait_for("read access shown", lambda: b.js(
        "document.getElementById('access').dataset.access") == "read")
    wait_shown(b, base, PIPE, "running")
    visible = b.js("Array.from(document.querySelectorAll('button[data-action]'))"
                   ".filter(e => e.offsetParent !== null).length")
    if visible:
        raise Failure("%d action buttons visible with the read-only token" % visible)

    others = [u for u in b.requested() if not u.startswith(base + "/")]
    if others:
        raise Failure("the page asked for other addresses: %s" % others[:5])
    if b.exceptions():
        raise Failure("the page threw: %s" % b.exceptions()[:3])
    if b.console_errors():
        raise Failure("errors in the console: %s" % b.console_errors()[:5])
    log("page: %d requests, all to %s" % (len(b.requested()), base))


# ---------------------------------------------------------------- main

def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    sluice, mongo_server, out = sys.argv[1:]
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        sys.exit("test_page.py: no chromium (Debian's package chromium: .ci/install-deps --test)")
    os.makedirs(out, exist_ok=True)
    for name in os.listdir(out):
        os.remove(os.path.join(out, name))
    log("output: %s" % out)
    tmp = tempfile.mkdtemp(prefix="sluice-page-")
    procs = Processes()
    browser = None
    writer = None
    sl = None
    ok = False
    try:
        uri = start_mongo(procs, mongo_server)
        database = "page_%d" % os.getpid()
        load_source(uri, database)
        latency(uri, SLOW_MS)  # a snapshot that lasts until the page has shown it
        writer = Writer(uri, database)
        port = free_port()
        base = "http://127.0.0.1:%d" % port
        ini = os.path.join(tmp, "page.ini")
        with open(ini, "w") as f:
            f.write(sluice_ini(tmp, port, uri, database))
        sl = procs.start([sluice, "run", ini, "--store", "sqlite:" + os.path.join(tmp, "sluice.db")],
                         os.path.join(out, "sluice.log"))
        wait_for("pipe %s in its snapshot (the API)" % PIPE,
                 lambda: sl.poll() is None and api_state(base) == "snapshot"
                 or (sl.poll() is not None and fail_exited(sl)))
        browser = Browser(procs, chromium, tmp, os.path.join(out, "chromium.log"))

        def release():
            latency(uri, 0)
            writer.start()

        check_page(browser, base, out, release)
        ok = True
    except Failure as e:
        log("FAILED: %s" % e)
        if browser:
            try:
                browser.screenshot(os.path.join(out, "failed.png"))
            except Exception as shot:  # noqa: BLE001  the failure matters more
                log("no screenshot of the failure: %s" % shot)
    finally:
        if writer:
            try:
                writer.stop()
            except Failure as e:
                log("FAILED: %s" % e)
                ok = False
        if browser:
            browser.close()
        if sl:
            rc = procs.stop(sl)
            if rc != 0 and ok:
                log("FAILED: sluice run ended with status %s after SIGTERM" % rc)
                ok = False
        procs.stop_all()
        shutil.rmtree(tmp, ignore_errors=True)
    if not ok:
        log("sluice's log: %s" % os.path.join(out, "sluice.log"))
        sys.exit(1)
    log("passed; screenshots in %s" % out)


def fail_exited(proc):
    raise Failure("sluice run exited with status %d" % proc.returncode)


if __name__ == "__main__":
    main()
