#!/usr/bin/env python3
"""test_doc_links.py SOURCE_DIR: every link of the repository's Markdown
(README.md, docs/, sdk/, examples/, tests/mongo_server/, bench/) stays
inside the repository, names a file that is there, and, with #anchor, a
heading of it (GitHub's anchors: lower case, punctuation dropped, spaces
as dashes). Docs are installed and read offline: nothing may point
outside."""
import os
import re
import sys

root = os.path.realpath(sys.argv[1])
link = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")
failures = []


def anchors(path):
    found = set()
    in_code = False
    for line in open(path, encoding="utf-8"):
        if line.startswith("```"):
            in_code = not in_code
        elif not in_code and line.startswith("#"):
            title = line.lstrip("#").strip().lower()
            title = re.sub(r"[^\w\- ]", "", title)
            found.add(title.replace(" ", "-"))
    return found


def markdown_files():
    for top in ["README.md", "CHANGELOG.md", "docs", "sdk", "examples",
                "tests/mongo_server", "bench"]:
        path = os.path.join(root, top)
        if os.path.isfile(path):
            yield path
        for folder, _, names in os.walk(path):
            for name in names:
                if name.endswith(".md"):
                    yield os.path.join(folder, name)


for path in markdown_files():
    in_code = False
    for number, line in enumerate(open(path, encoding="utf-8"), 1):
        if line.startswith("```"):
            in_code = not in_code
        if in_code:
            continue
        for target in link.findall(line):
            where = f"{os.path.relpath(path, root)}:{number}: {target}"
            if re.match(r"^[a-z]+:", target):
                failures.append(f"{where}: links outside the repository")
                continue
            file, _, anchor = target.partition("#")
            dest = os.path.realpath(os.path.join(os.path.dirname(path), file)) if file else path
            if not (dest == root or dest.startswith(root + os.sep)):
                failures.append(f"{where}: leaves the repository")
            elif not os.path.exists(dest):
                failures.append(f"{where}: no such file")
            elif anchor and dest.endswith(".md") and anchor not in anchors(dest):
                failures.append(f"{where}: no heading '#{anchor}' there")

for f in failures:
    print("FAIL:", f)
print(f"{len(failures)} bad links" if failures else "every link stays inside the repository")
sys.exit(1 if failures else 0)
