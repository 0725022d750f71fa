#!/usr/bin/env python3
"""test_doc_commands.py SLUICE SOURCE_DIR BUILD_DIR TEST_PLUGIN_DIR: every
command shown in the shell code blocks of README.md and docs/operations.md,
run as written against a scratch store; a command that exits otherwise
than the docs say fails the test, with its file:line.

What it reads: each line of a ```sh (bash, shell, console) block, the
part before its comment, and any "or: sluice ..." in the comment. A line
whose program is `sluice` (or ends in /sluice) is a sluice command; in
it, [X] is optional (tried without and with), [A | B] is optional with
alternatives (each tried), A | B outside brackets separates whole
alternative commands (never a shell pipe), and X... is X once. The
placeholders are replaced as SUBSTITUTIONS says. A comment saying "exit
N" (or "exit status N") is the status expected; otherwise 0.

Where it runs: a scratch directory that looks like the repository root
(the entries of SOURCE_DIR linked in, build/ linked to BUILD_DIR), with
sluice.ini, the scratch config: one pipe `orders` (the name the docs'
examples use) from memory_source to memory_sink (tests/plugins), its
store the default ./sluice.db of that directory, which the docs'
commands without --store or -c find, as the docs say. A `sluice run` of
that config runs in the background for the commands of the store, so
that a worker carries out each request as in production (resync and
tables add need one); a doc's own `sluice run` replaces it while it
runs: started, left until it runs the pipe, then stopped by SIGTERM,
which the docs say ends it with status 0.

Each request a doc shows is legal only in some states (the table of
docs/operations.md): before one, the test brings the pipe there with a
setup command of its own (shown), and after one it waits until the
worker has carried it out. Lines that cannot run here are in SKIPPED,
each with its reason, and printed; lines that are neither sluice commands
nor listed anywhere fail the test, so that a new one is looked at."""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sluice, source, build, test_plugins = sys.argv[1:5]
DOCS = ["README.md", "docs/operations.md"]
SHELL_BLOCKS = {"sh", "bash", "shell", "console", "sh-session", "shell-session"}
PIPE = "orders"
TABLE = "refunds"

tmp = tempfile.mkdtemp(prefix="sluice-doc-commands.")
repo = os.path.join(tmp, "repo")
config = os.path.join(repo, "sluice.ini")
store = "sqlite:" + os.path.join(repo, "sluice.db")

# The placeholders of the docs, each replaced by a word of the scratch.
SUBSTITUTIONS = {
    "PIPE": PIPE,                       # the scratch pipe
    "NAME": PIPE,                       # --pipe NAME; the pipe's topic and subscription share its name
    "TOPIC": PIPE,                      # the pipe's topic
    "TABLE": TABLE,                     # a table added to (removed from) the pipe
    "CONFIG.ini": config,               # the scratch config
    "FILE": config,
    "/etc/sluice/sluice.ini": config,   # the service's file: the scratch config stands for it
    "URL": store,                       # --store URL: the scratch store
    "COMMAND": "status",                # help COMMAND
}
PLACEHOLDER = re.compile(r"^[A-Z][A-Z0-9_]*(\.[a-z]+)?$")

# Lines that do not run here: (pattern on the command, with the program
# as `sluice`, the reason).
SKIPPED = [
    (r"^bash examples/quickstart\.sh\b",
     "installs Debian packages as root, builds sluice and starts the MongoDB test server and ClickHouse"),
    (r"^bash examples/quickstart-jsonl\.sh\b",
     "builds and installs sluice anew (minutes); install.prefix covers the install"),
    (r"^bash tests/run\.sh\b", "the whole test suite, this test in it"),
    (r"^cmake .*\bbuild-deb\b",
     "builds the Debian packages: package.debian does, as root"),
    (r"^dpkg ", "installs packages, as root: package.debian does"),
    (r"^(systemctl|journalctl) ", "needs systemd and the installed service"),
    (r"^SLUICE_TEST_CLOCK=\S+ sluice run ",
     "runs pipes of a config file the docs do not give; store.maintenance_clock runs one"),
    (r"^sluice check examples/quickstart\.ini .*--connect",
     "pings the quickstart's MongoDB and ClickHouse, which examples/quickstart.sh starts"),
    (r"^sluice run examples/quickstart\.ini",
     "runs against the quickstart's MongoDB and ClickHouse, which examples/quickstart.sh starts"),
    (r"^(curl |TOKEN=)",
     "a session with a running sluice's control API; service.api calls every endpoint"),
]
# Lines other than sluice's that do run, by bash in the scratch directory.
SHELL_COMMANDS = [r"^\. completions/sluice$", r"^man -l "]

env = dict(os.environ)
env.pop("SLUICE_STORE", None)
env["SLUICE_PLUGIN_PATH"] = f"{build}/plugins:{test_plugins}"
env["MANPAGER"] = "cat"
if env.get("TSAN_OPTIONS"):
    env["TSAN_OPTIONS"] += f" log_path={tmp}/tsan"

failures = []
skipped = []        # (where, command, reason)
skips_used = set()  # the patterns of SKIPPED that skipped a command
ran = 0
background = None   # the test's own `sluice run`
run_log = os.path.join(tmp, "run.log")


def fail(where, message, output=""):
    failures.append(where)
    print(f"FAIL: {where}: {message}")
    for line in output.splitlines()[:15]:
        print(f"    {line}")


def skip(where, command):
    """Whether SKIPPED names the command; if so, it is noted as skipped."""
    for pattern, reason in SKIPPED:
        if re.search(pattern, command):
            skipped.append((where, command, reason))
            skips_used.add(pattern)
            return True
    return False


# ---- reading the docs ------------------------------------------------------

def doc_lines(path):
    """(line number, command, comment) of each line of a shell block."""
    in_block, shell, prompt = False, False, False
    pending, pending_no = "", 0
    for number, line in enumerate(open(os.path.join(source, path), encoding="utf-8"), 1):
        fence = re.match(r"^\s*(```+|~~~+)\s*([\w-]*)", line)
        if fence:
            if in_block:
                in_block = False
            else:
                in_block, shell = True, fence.group(2) in SHELL_BLOCKS
                prompt = fence.group(2) in ("console", "sh-session", "shell-session")
            continue
        if not (in_block and shell):
            continue
        text = line.strip()
        if prompt:
            if not text.startswith("$ ") and not pending:
                continue   # a console block's output
            text = text[2:] if text.startswith("$ ") else text
        if pending:
            text, number = pending + " " + text, pending_no
        if text.endswith("\\"):
            pending, pending_no = text[:-1].strip(), number
            continue
        pending = ""
        comment = re.search(r"(^|\s)#", text)
        command = text[:comment.start()].strip() if comment else text
        yield number, command, text[comment.end():].strip() if comment else ""


def tokens(text):
    for mark in "[]|":
        text = text.replace(mark, f" {mark} ")
    return text.split()


def expand(words):
    """Every command a line of the docs' notation stands for."""
    position = 0

    def alternatives():
        nonlocal position
        found = [sequence()]
        while position < len(words) and words[position] == "|":
            position += 1
            found.append(sequence())
        return [c for alternative in found for c in alternative]

    def sequence():
        nonlocal position
        commands = [[]]
        while position < len(words) and words[position] not in ("|", "]"):
            word = words[position]
            position += 1
            if word == "[":
                inner = alternatives()
                if position >= len(words) or words[position] != "]":
                    raise ValueError("an unclosed [")
                position += 1
                if position < len(words) and words[position] == "...":
                    position += 1
                choices = [[]] + inner
            elif word == "...":
                continue
            else:
                choices = [[word[:-3] if word.endswith("...") else word]]
            commands = [c + choice for c in commands for choice in choices]
        return commands

    found = alternatives()
    if position != len(words):
        raise ValueError(f"a '{words[position]}' out of place")
    return found


def substitute(words):
    out = []
    for word in words:
        if word in SUBSTITUTIONS:
            out.append(SUBSTITUTIONS[word])
        elif PLACEHOLDER.match(word) and not word.startswith("-"):
            raise ValueError(f"the placeholder {word} has no substitution (SUBSTITUTIONS)")
        else:
            out.append(word)
    return out


# ---- the scratch and its pipe ------------------------------------------------

def sluice_cmd(*args, timeout=60):
    done = subprocess.run([sluice, *args], cwd=repo, env=env, timeout=timeout,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    return done.returncode, done.stdout


def pipe_status():
    """The pipe's status --json, None when it is not registered."""
    status, out = sluice_cmd("status", PIPE, "--json")
    return json.loads(out) if status == 0 else None


def pending_requests():
    status, out = sluice_cmd("status", PIPE)
    requests = out.split("recent requests:")[-1] if "recent requests:" in out else ""
    return re.findall(r"\b(pending|in_progress)\b", requests)


def wait(what, predicate, seconds=60):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        status = pipe_status()
        if status and status["state"] == "failed":
            fail("setup", f"waiting for {what}, the scratch pipe failed: {status['last_error']}")
            return False
        time.sleep(0.2)
    fail("setup", f"waited {seconds}s for {what}")
    return False


def runs_pipe(process):
    status = pipe_status()
    worker = (status or {}).get("worker") or ""
    return (status or {}).get("state") == "running" and worker.split(":")[1:2] == [str(process.pid)]


def start(args, log):
    return subprocess.Popen([sluice, *args], cwd=repo, env=env, stdout=log,
                            stderr=subprocess.STDOUT, text=True)


def stop(process, seconds=20):
    process.send_signal(signal.SIGTERM)
    try:
        return process.wait(seconds)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        return None


def start_background():
    global background
    with open(run_log, "a") as log:
        background = start(["run", config], log)
    wait("the background sluice run to run the pipe", lambda: runs_pipe(background))


def stop_background():
    global background
    if background is None:
        return
    status = stop(background)
    if status != 0:
        fail("setup", f"the background sluice run exited {status} on SIGTERM", open(run_log).read()[-3000:])
    background = None


def settle():
    """Until the worker has carried out every request and the pipe is in
    a state it stays in."""
    def settled():
        status = pipe_status()
        return status is None or (status["state"] in ("running", "paused", "completed", "failed")
                                  and not pending_requests())
    wait("the pipe's requests to be carried out", settled)


def setup(before, *args):
    print(f"setup: sluice {' '.join(args)} (before {before})")
    status, out = sluice_cmd(*args)
    if status != 0:
        fail("setup", f"sluice {' '.join(args)} exited {status}", out)


def prepare(words, before):
    """Brings the scratch where the command can run, as its docs say."""
    if background is not None and background.poll() is not None:
        fail("setup", f"the background sluice run exited {background.returncode}",
             open(run_log).read()[-3000:])
    if background is None or background.poll() is not None:
        start_background()
    if PIPE in words and pipe_status() is None:
        stop_background()        # deleted: a new run registers it again
        start_background()
    settle()
    state = (pipe_status() or {}).get("state")
    tables = [t["name"] for t in (pipe_status() or {}).get("tables", [])]
    verb = " ".join(words[:2]) if words[0] in ("tables", "pipe") else words[0]
    if verb == "pause" and state == "paused":
        setup(before, "resume", PIPE, "--wait", "--timeout", "60s")
    elif verb == "resume" and state == "running":
        setup(before, "pause", PIPE, "--wait", "--timeout", "60s")
    elif verb == "tables add" and TABLE in tables:
        setup(before, "tables", "remove", PIPE, TABLE, "--wait", "--timeout", "60s")
    elif verb == "tables remove" and TABLE not in tables:
        setup(before, "tables", "add", PIPE, TABLE, "--wait", "--timeout", "60s")


# ---- running a command -------------------------------------------------------

STORELESS = ("check", "plugins", "plugin", "help", "run")


def run_sluice(where, words, expected):
    shown = "sluice " + " ".join(words)
    if words[0] == "run":
        stop_background()
        log_path = os.path.join(tmp, "doc-run.log")
        with open(log_path, "w") as log:
            process = start(words, log)
        wait(f"{shown} to run the pipe", lambda: process.poll() is not None or runs_pipe(process))
        if process.poll() is not None:
            status = process.returncode
        elif not runs_pipe(process):
            stop(process)
            fail(where, f"{shown}: did not run the pipe", open(log_path).read())
            return start_background()
        else:
            status = stop(process)
        output = open(log_path).read()
        if status == expected:
            print(f"ok: {where}: {shown} (ran the pipe; SIGTERM: exit {status})")
        else:
            fail(where, f"{shown}: exited {status}, the docs say {expected}", output)
        start_background()
        return
    if words[0] not in STORELESS:
        prepare(words, f"{where}: {shown}")
    status, output = sluice_cmd(*words)
    if status == expected:
        print(f"ok: {where}: {shown}")
    else:
        fail(where, f"{shown}: exited {status}, the docs say {expected}", output)
    if words[0] not in STORELESS:
        settle()


def run_line(where, command, comment):
    global ran
    words = tokens(command)
    program = words[0] if words else ""
    is_sluice = program == "sluice" or program.endswith("/sluice")
    plain = "sluice " + " ".join(words[1:]) if is_sluice else command
    expected = int(m.group(1)) if (m := re.search(r"\bexit (?:status )?(\d+)\b", comment)) else 0

    if not is_sluice:
        if skip(where, command):
            return
        if (m := re.match(r"^export (\w+)=(\S+)$", command)):
            value = subprocess.run(["bash", "-c", f"printf %s {m.group(2)}"], cwd=repo,
                                   env=env, stdout=subprocess.PIPE, text=True).stdout
            if m.group(1) == "SLUICE_PLUGIN_PATH":
                value += ":" + test_plugins  # for the scratch config's memory plugins
            env[m.group(1)] = value
            print(f"ok: {where}: {command} (set for the commands after it)")
            return
        if any(re.search(p, command) for p in SHELL_COMMANDS):
            if command.startswith("man ") and subprocess.run(["sh", "-c", "command -v man"],
                                                             stdout=subprocess.DEVNULL).returncode:
                skipped.append((where, command, "man is not installed here"))
                return
            ran += 1
            done = subprocess.run(["bash", "-c", command], cwd=repo, env=env, timeout=60,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            if done.returncode == expected:
                print(f"ok: {where}: {command}")
            else:
                fail(where, f"{command}: exited {done.returncode}, the docs say {expected}", done.stdout)
            return
        fail(where, f"'{command}' is not a sluice command, and the test neither runs nor skips it "
                    "(SHELL_COMMANDS, SKIPPED)")
        return

    try:
        commands = [substitute(c) for c in expand(words[1:])]
    except ValueError as error:
        return fail(where, f"{plain}: cannot read it: {error}")
    for args in commands:
        shown = "sluice " + " ".join(args)
        if skip(where, shown):
            continue
        ran += 1
        try:
            run_sluice(where, args, expected)
        except subprocess.TimeoutExpired:
            fail(where, f"{shown}: still running after 60s")


# ---- the scratch -------------------------------------------------------------

os.mkdir(repo)
for entry in os.listdir(source):
    if not entry.startswith("build"):
        os.symlink(os.path.join(source, entry), os.path.join(repo, entry))
os.symlink(build, os.path.join(repo, "build"))
# No change data: memory_source's snapshot_begin is always position 0, so
# after a resync its changes would come again and its acks go back, which
# it refuses (a limit of the test plugin, not of sluice).
with open(config, "w") as f:
    f.write(f"""# the scratch config of test_doc_commands.py
[store]
url = sqlite:sluice.db

[pipe {PIPE}]
source = memory_source
sink = memory_sink
sync_interval = 1s

[pipe {PIPE}.source]
tables = orders, customers
rows = 100

[pipe {PIPE}.sink]
output = {tmp}/out.jsonl
""")

try:
    for doc in DOCS:
        found = 0
        for number, command, comment in doc_lines(doc):
            commands = [command] if command else []
            commands += re.findall(r"\bor: (sluice [^;)]*)", comment)
            for c in commands:
                found += 1
                run_line(f"{doc}:{number}", c.strip(), comment)
        if not found:
            fail(doc, "no command found in its shell blocks: is the reading of the file broken?")
    stop_background()
    for where, command, reason in skipped:
        print(f"skipped: {where}: {command}: {reason}")
    for pattern, _ in SKIPPED:
        if pattern not in skips_used:
            fail("SKIPPED", f"'{pattern}' skips no command of the docs any more: remove it")
    for name in sorted(n for n in os.listdir(tmp) if n.startswith("tsan.")):
        fail("ThreadSanitizer", name, open(os.path.join(tmp, name)).read())
finally:
    if background is not None:
        background.kill()
        background.wait()
    shutil.rmtree(tmp)
print(f"{ran} command(s) run, {len(skipped)} skipped, {len(failures)} failure(s)")
sys.exit(1 if failures else 0)
