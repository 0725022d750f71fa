#!/usr/bin/env python3
"""api_doc.py SOURCE_DIR [--check | --write]: docs/api.md is rendered from
docs/openapi.json, the one description of the control API (the program
serves that document at /v1/openapi.json, and tests/service/test_api.py
checks every answer against it). Without a flag it prints the page;
--write writes docs/api.md; --check fails when docs/api.md differs from
what it would write.

Before rendering, the document itself is checked: OpenAPI 3.1.0, every
schema valid JSON Schema (draft 2020-12), every $ref resolving, every
operation with an operationId, a summary, tags, its access
(x-sluice-access: none, read or change) and an answer per status that a
/v1 operation of that access can give; and the routes of
framework/api/api.c with the files the build embeds are the document's
operations, with the same access."""
import json
import os
import re
import sys

import jsonschema

HEADER = """# The control API

<!-- Generated from docs/openapi.json by tests/service/api_doc.py; do not
edit: change the document and run `tests/service/api_doc.py . --write`. -->

Generated from [openapi.json](openapi.json), the OpenAPI 3.1 document that
`sluice run` also serves at `/v1/openapi.json`; the test `service.api` checks
every answer of the program against it.
"""

METHODS = ["get", "post", "put", "patch", "delete"]


def fail(message):
    print(f"FAIL: {message}")
    sys.exit(1)


def resolve(doc, ref):
    if not ref.startswith("#/"):
        fail(f"$ref {ref} is not inside the document")
    node = doc
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        if not isinstance(node, dict) or part not in node:
            fail(f"$ref {ref} names nothing")
        node = node[part]
    return node


def refs_of(node):
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "$ref" and isinstance(v, str):
                yield v
            else:
                yield from refs_of(v)
    elif isinstance(node, list):
        for v in node:
            yield from refs_of(v)


def operations(doc):
    for path, item in doc["paths"].items():
        for method in METHODS:
            if method in item:
                yield path, method, item[method]


def check(doc):
    if doc.get("openapi") != "3.1.0":
        fail("openapi is not 3.1.0")
    for ref in refs_of(doc):
        resolve(doc, ref)
    for name, schema in doc["components"]["schemas"].items():
        try:
            jsonschema.Draft202012Validator.check_schema(schema)
        except jsonschema.SchemaError as e:
            fail(f"schema {name}: {e.message}")
    ids = set()
    for path, method, op in operations(doc):
        where = f"{method.upper()} {path}"
        for key in ["operationId", "summary", "description", "tags", "responses"]:
            if key not in op:
                fail(f"{where} has no {key}")
        if op["operationId"] in ids:
            fail(f"{where}: operationId {op['operationId']} twice")
        ids.add(op["operationId"])
        access = op.get("x-sluice-access")
        if access not in ("none", "read", "change"):
            fail(f"{where}: x-sluice-access is {access!r}")
        codes = set(op["responses"])
        need = {"read": {"401", "500", "503"},
                "change": {"401", "403", "413", "500", "503"}}.get(access, set())
        if need - codes:
            fail(f"{where} lacks the answers {sorted(need - codes)}")
        for name in re.findall(r"{(\w+)}", path):
            params = [resolve(doc, p["$ref"]) if "$ref" in p else p
                      for p in item_params(doc, path, op)]
            if not any(p["in"] == "path" and p["name"] == name for p in params):
                fail(f"{where}: no parameter for {{{name}}}")


def check_routes(doc, root):
    """The routes of framework/api/api.c and the files the build embeds
    (framework/CMakeLists.txt) are the document's /v1 operations and
    pages, each with the access the document says."""
    api_c = os.path.join(root, "framework", "api", "api.c")
    if not os.path.exists(api_c):
        return
    access = {"R": "read", "W": "change", "API_ACCESS_NONE": "none"}
    code = open(api_c, encoding="utf-8").read()
    routes = {(m.lower(), re.sub(r"\*", "{}", path), access[a]) for m, path, a in re.findall(
        r'\{"(GET|POST|PUT|PATCH|DELETE)", "(/v1[^"]*)", \w+, (\w+)\}', code)}
    cmake = open(os.path.join(root, "framework", "CMakeLists.txt"), encoding="utf-8").read()
    routes |= {("get", url, "none") for url in re.findall(r'=(/[^"]*)"', cmake)}
    documented = {(method, re.sub(r"{\w+}", "{}", path), op["x-sluice-access"])
                  for path, method, op in operations(doc)
                  if path not in ("/health", "/metrics")}
    for r in sorted(routes - documented):
        fail(f"the program answers {r[0].upper()} {r[1]} ({r[2]}), which the document lacks")
    for r in sorted(documented - routes):
        fail(f"the document has {r[0].upper()} {r[1]} ({r[2]}), which the program lacks")


def item_params(doc, path, op):
    return doc["paths"][path].get("parameters", []) + op.get("parameters", [])


def anchor(title):
    title = re.sub(r"[^\w\- ]", "", title.lower())
    return title.replace(" ", "-")


def type_text(doc, s):
    """A schema in a few words, with links to the objects it names."""
    if "$ref" in s:
        name = s["$ref"].rsplit("/", 1)[1]
        return f"[{name}](#{anchor(name)})"
    if "const" in s:
        return f"`{json.dumps(s['const'])}`"
    if "oneOf" in s:
        return " or ".join(type_text(doc, x) for x in s["oneOf"])
    if "enum" in s:
        return "one of " + ", ".join(f"`{v}`" for v in s["enum"])
    types = s.get("type", "any")
    types = types if isinstance(types, list) else [types]
    words = []
    for t in types:
        if t == "array":
            words.append("array of " + type_text(doc, s.get("items", {})))
        elif t == "object" and "additionalProperties" in s and isinstance(
                s["additionalProperties"], dict):
            words.append("object of " + type_text(doc, s["additionalProperties"]))
        else:
            words.append(t)
    text = " or ".join(words)
    limits = []
    if "minimum" in s and "maximum" in s:
        limits.append(f"{s['minimum']} to {s['maximum']}")
    elif "minimum" in s and s["minimum"] != 0:
        limits.append(f"at least {s['minimum']}")
    if "minItems" in s:
        limits.append(f"at least {s['minItems']}")
    if "default" in s:
        limits.append(f"default {json.dumps(s['default'])}")
    return text + (f" ({', '.join(limits)})" if limits else "")


def cell(text):
    return " ".join(text.replace("|", "\\|").split())


def field_table(doc, schema, out):
    props = schema.get("properties", {})
    if not props:
        out.append("No fields.\n")
        return
    required = set(schema.get("required", []))
    out.append("| field | type | always | description |")
    out.append("|---|---|---|---|")
    for name, s in props.items():
        desc = s.get("description", "")
        if "$ref" in s and not desc:
            desc = resolve(doc, s["$ref"]).get("description", "")
        out.append(f"| `{name}` | {cell(type_text(doc, s))} | "
                   f"{'yes' if name in required else 'no'} | {cell(desc)} |")
    out.append("")


def response_text(doc, r):
    if "$ref" in r:
        r = resolve(doc, r["$ref"])
    words = r["description"]
    for ctype, media in r.get("content", {}).items():
        words += f" `{ctype}`"
        if "$ref" in media.get("schema", {}):
            words += ": " + type_text(doc, media["schema"])
    for h in r.get("headers", {}):
        words += f"; header `{h}`"
    return words


def render(doc):
    out = [HEADER, doc["info"]["description"], ""]
    out.append("## Endpoints\n")
    out.append("| method | path | access | what |")
    out.append("|---|---|---|---|")
    for path, method, op in operations(doc):
        out.append(f"| {method.upper()} | `{path}` | {op['x-sluice-access']} | "
                   f"{cell(op['summary'])} |")
    out.append("")
    for t in doc["tags"]:
        out.append(f"## {t['name'].capitalize()}\n")
        out.append(t["description"] + "\n")
        for path, method, op in operations(doc):
            if t["name"] not in op["tags"]:
                continue
            out.append(f"### {method.upper()} {path}\n")
            out.append(f"{op['summary']}. {op['description']}\n")
            out.append(f"Access: {op['x-sluice-access']}.\n")
            params = [resolve(doc, p["$ref"]) if "$ref" in p else p
                      for p in item_params(doc, path, op)]
            if params:
                out.append("| parameter | in | type | description |")
                out.append("|---|---|---|---|")
                for p in params:
                    out.append(f"| `{p['name']}` | {p['in']} | "
                               f"{cell(type_text(doc, p['schema']))} | "
                               f"{cell(p.get('description', ''))} |")
                out.append("")
            if "requestBody" in op:
                b = op["requestBody"]
                schema = b["content"]["application/json"]["schema"]
                out.append(f"Body: {type_text(doc, schema)}. {b['description']}\n")
            out.append("| status | answer |")
            out.append("|---|---|")
            for code, r in op["responses"].items():
                out.append(f"| {code} | {cell(response_text(doc, r))} |")
            out.append("")
    out.append("## Objects\n")
    out.append("Every object's fields are all there, always (`always`: yes), "
               "and no other; `null` stands for what is unknown or absent.\n")
    for name, schema in doc["components"]["schemas"].items():
        out.append(f"### {name}\n")
        if schema.get("description"):
            out.append(schema["description"] + "\n")
        if schema.get("type") == "object":
            field_table(doc, schema, out)
        else:
            out.append(f"{type_text(doc, schema)}.\n")
    return "\n".join(out).rstrip("\n") + "\n"


def main():
    root = sys.argv[1]
    mode = sys.argv[2] if len(sys.argv) > 2 else ""
    with open(os.path.join(root, "docs", "openapi.json"), encoding="utf-8") as f:
        doc = json.load(f)
    check(doc)
    check_routes(doc, root)
    page = render(doc)
    target = os.path.join(root, "docs", "api.md")
    if mode == "--write":
        with open(target, "w", encoding="utf-8") as f:
            f.write(page)
    elif mode == "--check":
        current = open(target, encoding="utf-8").read() if os.path.exists(target) else ""
        if current != page:
            import difflib
            sys.stdout.writelines(difflib.unified_diff(
                current.splitlines(True), page.splitlines(True),
                "docs/api.md", "rendered from docs/openapi.json"))
            fail("docs/api.md is stale; regenerate: tests/service/api_doc.py . --write")
        print("docs/api.md is current with docs/openapi.json")
    else:
        sys.stdout.write(page)


if __name__ == "__main__":
    main()
