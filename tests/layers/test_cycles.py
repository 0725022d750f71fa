#!/usr/bin/python3
"""test_cycles.py BUILD_DIR: within each folder of framework/ and each
plugin, no file calls into a file that calls back into it, directly or
round a longer loop. Read at the symbol level from the build's object
files: `nm` says which file defines a function or variable and which
other file uses it. The cli/ dispatch table (cli.c naming every cmd_*
function) is the one loop allowed. Prints each loop with the symbols that
make its arrows; exit status 1 when there is one."""
import collections
import os
import subprocess
import sys
import tempfile


def objects(build):
    """{folder: {file: object path}} for framework/ and plugins/."""
    found = collections.defaultdict(dict)
    for top, target_dir in (("framework", "framework/CMakeFiles/sluice_core.dir"),
                            ("plugins", "plugins/CMakeFiles")):
        root = os.path.join(build, target_dir)
        for dirpath, _, files in os.walk(root):
            for f in files:
                if not f.endswith(".c.o"):
                    continue
                rel = os.path.relpath(os.path.join(dirpath, f), root)
                parts = rel.split(os.sep)
                if top == "plugins":
                    parts = parts[1:]  # the target's own directory
                if len(parts) < 2:
                    continue
                folder = "%s/%s" % (top, parts[0])
                found[folder][parts[-1][:-2]] = os.path.join(dirpath, f)
    return found


def symbols(path):
    """(defined, used) global symbols of an object file."""
    out = subprocess.run(["nm", "-P", path], stdout=subprocess.PIPE,
                         text=True, check=True).stdout
    defined, used = set(), set()
    for line in out.splitlines():
        fields = line.split()
        if len(fields) < 2:
            continue
        name, kind = fields[0], fields[1]
        if kind == "U":
            used.add(name)
        elif kind in "TDBRCVW":
            defined.add(name)
    return defined, used


def allowed(folder, src, name):
    return folder == "framework/cli" and src == "cli.c" and name.startswith("cmd_")


def loops(folder, files):
    """[(files of one loop, {(from, to): symbols})]."""
    table = {f: symbols(p) for f, p in files.items()}
    owner = {}
    for f, (defined, _) in table.items():
        for name in defined:
            owner[name] = f
    edges = collections.defaultdict(set)
    for f, (_, used) in table.items():
        for name in used:
            g = owner.get(name)
            if g and g != f and not allowed(folder, f, name):
                edges[(f, g)].add(name)
    graph = collections.defaultdict(set)
    for f, g in edges:
        graph[f].add(g)
    # Tarjan's strongly connected components
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            part = []
            while True:
                w = stack.pop()
                on.discard(w)
                part.append(w)
                if w == v:
                    break
            if len(part) > 1:
                out.append(sorted(part))

    sys.setrecursionlimit(10000)
    for v in sorted(table):
        if v not in index:
            visit(v)
    return [(part, {k: v for k, v in edges.items()
                    if k[0] in part and k[1] in part}) for part in out]


def finds_a_known_loop():
    """The checker itself: two files that call each other are a loop, and
    a third that only calls them is not part of it."""
    sources = {"a": "int b(int); int a(void) { return b(1); }\n",
               "b": "int a(void); int b(int n) { return n ? a() : 1; }\n",
               "c": "int a(void); int c(void) { return a(); }\n"}
    with tempfile.TemporaryDirectory() as d:
        files = {}
        for name, text in sources.items():
            with open(os.path.join(d, name + ".c"), "w") as out:
                out.write(text)
            files[name + ".c"] = os.path.join(d, name + ".o")
            subprocess.run(["cc", "-c", "-o", files[name + ".c"],
                            os.path.join(d, name + ".c")], check=True)
        found = loops("self", files)
    return [part for part, _ in found] == [["a.c", "b.c"]]


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    if not finds_a_known_loop():
        print("test_cycles: the checker misses a loop of two files")
        return 1
    found = objects(sys.argv[1])
    if not found:
        print("test_cycles: no object files under %s" % sys.argv[1])
        return 1
    bad = 0
    for folder in sorted(found):
        for part, arrows in loops(folder, found[folder]):
            bad += 1
            print("loop in %s: %s" % (folder, " <-> ".join(part)))
            for (f, g), names in sorted(arrows.items()):
                print("  %s -> %s: %s" % (f, g, ", ".join(sorted(names)[:6])))
    print("%d folder(s), %d loop(s)" % (len(found), bad))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
