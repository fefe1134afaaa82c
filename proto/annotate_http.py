#!/usr/bin/env python3
"""Adds the HTTP/JSON binding (google.api.http) to every RPC of the suite's own protos that has none.

Each RPC is bound to `POST /v1/{package.Service}/{Method}` with the whole request as the body:
the edge's JSON route (crates/edge) reads the binding from the descriptor set, and a test there
fails when an RPC lacks one. Run after adding an RPC: `python3 proto/annotate_http.py`.
"""
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parent
IMPORT = 'import "google/api/annotations.proto";'
# Contracts of civil.external that the suite serves itself (the departments push to it).
SERVED_EXTERNAL = {"signal_intake.proto"}
RPC = re.compile(r"(?P<indent>[ \t]*)rpc\s+(?P<name>\w+)\s*\((?P<req>[^)]*)\)\s*returns\s*\((?P<resp>[^)]*)\)\s*;")
SERVICE = re.compile(r"^service\s+(\w+)\s*\{", re.M)
PACKAGE = re.compile(r"^package\s+([\w.]+)\s*;", re.M)


def annotate(text: str) -> str:
    package = PACKAGE.search(text).group(1)
    services = [(m.start(), m.group(1)) for m in SERVICE.finditer(text)]

    def service_at(pos: int) -> str:
        return [name for start, name in services if start < pos][-1]

    def bind(m: re.Match) -> str:
        indent, name = m.group("indent"), m.group("name")
        path = f"/v1/{package}.{service_at(m.start())}/{name}"
        return (f"{indent}rpc {name}({m.group('req').strip()}) returns ({m.group('resp').strip()}) {{\n"
                f"{indent}  option (google.api.http) = {{\n"
                f"{indent}    post: \"{path}\"\n"
                f"{indent}    body: \"*\"\n"
                f"{indent}  }};\n"
                f"{indent}}}")

    out = RPC.sub(bind, text)
    if out != text and IMPORT not in out:
        imports = list(re.finditer(r"^import\s+\"[^\"]+\";\n", out, re.M))
        at = imports[-1].end() if imports else PACKAGE.search(out).end() + 1
        out = out[:at] + ("" if imports else "\n") + IMPORT + "\n" + out[at:]
    return out


def main() -> int:
    changed = 0
    for path in sorted((ROOT / "civil").rglob("*.proto")):
        if "external" in path.parts and path.name not in SERVED_EXTERNAL:
            continue  # the other bureaus' systems: called by the suite, never served over JSON
        text = path.read_text()
        out = annotate(text)
        if out != text:
            path.write_text(out)
            changed += 1
            print(f"bound {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
