"""Find every ST101/ST301 labelling candidate in a corpus with grep patterns, and show them.

    python benchmarks/label_candidates.py llm-stack                  # candidates with no label
    python benchmarks/label_candidates.py llm-stack --all            # every candidate
    python benchmarks/label_candidates.py llm-stack --show --rule ST301 --dist openlit
    python benchmarks/label_candidates.py llm-stack --stale          # labels no pattern finds

The patterns (``PATTERNS`` below, also listed in ``benchmarks/labels/README.md``) are what the
hand labels were built from: every line they match must carry a label in
``benchmarks/labels/<corpus>.json``, decided by reading the code. ``--show`` prints each
candidate with context and, per file, the lines that say where tracers and apps come from
(imports, ``tracer =`` assignments, ``get_tracer`` calls), which is where reading starts.
Labels found by other means (e.g. unlabelled findings printed by ``accuracy.py``) are fine:
``--stale`` lists them so they can be re-checked.
"""

from __future__ import annotations

import argparse
import json
import re
from collections import defaultdict
from pathlib import Path

from corpora import LABELS, python_files, tree_root

# rule -> (name, compiled pattern applied per line). Case-sensitive.
PATTERNS: dict[str, list[tuple[str, re.Pattern[str]]]] = {
    "ST301": [
        ("span-start", re.compile(r"\b(start_span|start_as_current_span)\b")),
        # Traceloop decorators: only in files that mention traceloop (checked per file).
        (
            "traceloop-decorator",
            re.compile(r"^\s*@(\w+\.)*(a?workflow|a?task|a?agent|a?tool)\b"),
        ),
    ],
    "ST101": [
        (
            "app",
            re.compile(
                r"\b(FastAPI|Starlette|Flask|Quart|Sanic|Litestar|Celery|FastMCP|MCPServer)"
                r"\s*(\[[^\]]*\])?\s*\("
                r"|\bweb\.Application\s*\("
                r"|\bgr\.(Blocks|Interface|ChatInterface|TabbedInterface)\s*\("
            ),
        ),
        (
            "app-subclass",
            re.compile(
                r"^\s*class\s+\w+\(.*\b(\w*(FastAPI|Starlette|Flask|Quart|Sanic|Celery|FastMCP|"
                r"MCPServer)|BaseApplication)\b"
            ),
        ),
        (
            "server",
            re.compile(
                r"\buvicorn\.(run|Server|Config)\s*\("
                r"|\bhypercorn\b.*\bserve\b|\bserve\s*\(\s*app\b"
                r"|\bgrpc\.(aio\.)?server\s*\(|\b(grpc_)?aio\.server\s*\("
                r"|\brun_app\s*\("
                r"|\bwaitress\.serve\s*\(|\bGranian\s*\("
                r"|\bwebsockets\.(asyncio\.server\.)?serve\s*\("
                r"|\b(ThreadingHTTPServer|HTTPServer|TCPServer)\s*\("
                r"|\bstart_http_server\s*\(|\.serve_forever\s*\("
                r"|\.run_(stdio|sse|streamable_http)_async\s*\(|\b\w*mcp\w*\.run_async\s*\("
            ),
        ),
        (
            "run-launch",
            re.compile(
                r"\b(app|mcp|server|application|api|demo|ui|interface|flask_app|"
                r"fastapi_app|web_app|mcp_server|gradio_app|block|blocks)\.run\s*\("
                r"|\.launch\s*\(|\.run_server\s*\("
            ),
        ),
    ],
}
SUBCLASS = re.compile(r"^\s*class\s+(\w+)\(")
PROVENANCE = re.compile(
    r"^\s*(from|import)\s.*(opentelemetry|trac|langfuse|mlflow|braintrust|fastapi|flask|"
    r"starlette|celery|uvicorn|grpc|gradio|mcp|aiohttp)"
    r"|[Tt]racer\w*\s*[:=]|get_tracer|def \w*tracer\w*\s*\("
)


def app_subclasses(texts: dict[str, str]) -> re.Pattern[str] | None:
    """Constructions of the corpus's own subclasses of app classes (``class MyApp(FastAPI)``,
    ``class AtlassianMCP(ErrorPreservingFastMCP[...])``), found transitively by class name."""
    bases = re.compile(
        r"^\s*class\s+\w+\(.*\b(\w*(FastAPI|Starlette|Flask|Quart|Sanic|Celery|FastMCP|"
        r"MCPServer)|BaseApplication)\b"
    )
    names: set[str] = set()
    while True:
        known = re.compile(r"\b(" + "|".join(sorted(names)) + r")\b") if names else None
        new = set()
        for text in texts.values():
            for line in text.splitlines():
                match = SUBCLASS.match(line)
                if match and match.group(1) not in names:
                    if bases.search(line) or (known and known.search(line.split("(", 1)[1])):
                        new.add(match.group(1))
        if not new:
            break
        names |= new
    if not names:
        return None
    return re.compile(r"\b(" + "|".join(sorted(names)) + r")\s*(\[[^\]]*\])?\s*\(")


def candidates(root: Path, rules: list[str]) -> dict[tuple[str, int, str], str]:
    """(path, line, rule) -> pattern name, for every matching line of every ``.py`` file."""
    texts = {
        path.relative_to(root).as_posix(): path.read_text(encoding="utf-8", errors="replace")
        for path in python_files(root)
    }
    subclass_apps = app_subclasses(texts) if "ST101" in rules else None
    found: dict[tuple[str, int, str], str] = {}
    for rel, text in texts.items():
        traceloop = "traceloop" in text
        for number, line in enumerate(text.splitlines(), 1):
            for rule in rules:
                for name, pattern in PATTERNS[rule]:
                    if name == "traceloop-decorator" and not traceloop:
                        continue
                    if pattern.search(line):
                        found.setdefault((rel, number, rule), name)
                if rule == "ST101" and subclass_apps and subclass_apps.search(line):
                    if not SUBCLASS.match(line):
                        found.setdefault((rel, number, rule), "app-subclass-construction")
    return found


def load_labels(corpus: str) -> list[dict[str, object]]:
    path = LABELS / f"{corpus}.json"
    return json.loads(path.read_text()) if path.exists() else []


def labelled_lines(labels: list[dict[str, object]]) -> set[tuple[str, int, str]]:
    """(path, line, rule) of every label, and of the ``also`` lines of each."""
    out: set[tuple[str, int, str]] = set()
    for label in labels:
        path, rule = str(label["path"]), str(label["rule"])
        for line in [label["line"], *label.get("also", [])]:  # type: ignore[list-item]
            out.add((path, int(line), rule))  # type: ignore[call-overload]
    return out


def show(root: Path, keys: list[tuple[str, int, str]], context: int) -> None:
    by_file: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for rel, line, rule in keys:
        by_file[rel].append((line, rule))
    for rel in sorted(by_file):
        lines = (root / rel).read_text(encoding="utf-8", errors="replace").splitlines()
        print(f"\n=== {rel}")
        for number, text in enumerate(lines, 1):
            if PROVENANCE.search(text):
                print(f"  p{number:>5}: {text.strip()[:150]}")
        for line, rule in sorted(by_file[rel]):
            print(f"  --- {rule} line {line}")
            for n in range(max(1, line - context), min(len(lines), line + context) + 1):
                mark = ">" if n == line else " "
                print(f"  {mark}{n:>5}: {lines[n - 1][:160]}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus")
    parser.add_argument("--rule", choices=sorted(PATTERNS), action="append")
    parser.add_argument("--dist", help="only candidates under this dist folder")
    parser.add_argument("--all", action="store_true", help="labelled candidates too")
    parser.add_argument("--show", action="store_true", help="print context for each candidate")
    parser.add_argument("--context", type=int, default=3)
    parser.add_argument("--stale", action="store_true", help="labels no pattern finds")
    args = parser.parse_args()
    root = tree_root(args.corpus)
    rules = args.rule or sorted(PATTERNS)
    found = candidates(root, rules)
    labelled = labelled_lines(load_labels(args.corpus))
    if args.stale:
        for key in sorted(labelled - set(found)):
            if key[2] in rules and (not args.dist or key[0].startswith(args.dist + "/")):
                print(f"{key[0]}:{key[1]}: {key[2]} labelled, no pattern matches")
        return 0
    keys = sorted(k for k in found if args.all or k not in labelled)
    if args.dist:
        keys = [k for k in keys if k[0].startswith(args.dist + "/")]
    if args.show:
        show(root, keys, args.context)
    else:
        for rel, line, rule in keys:
            print(f"{rel}:{line}: {rule} {found[(rel, line, rule)]}")
    print(f"\n{len(keys)} candidate(s); {len(found)} in all, {len(labelled)} label(s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
