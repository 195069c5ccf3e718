"""The cache keeps each module's facets as JSON text, decoded only when the project join asks:
a warm run, and a run after one file changed (the join then reads other modules' facets from the
cache), report exactly what a run without a cache reports."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from tests.helpers import REPO, git, init_repo, run_cli


def _findings(root: Path, *extra: str) -> list[str]:
    done = run_cli("check", "--output-format", "concise", "--exit-zero", *extra, ".", cwd=root)
    assert done.returncode == 0, done.stderr
    return sorted(line for line in done.stdout.splitlines() if ": ST" in line)


def test_facets_read_back_from_the_cache_give_the_cold_findings(tmp_path: Path) -> None:
    root = tmp_path / "monorepo"
    shutil.copytree(REPO / "examples" / "monorepo", root)
    init_repo(root)
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "example")
    cold = _findings(root, "--no-cache")
    assert any(" ST101 " in line for line in cold) and any(" ST301 " in line for line in cold)
    assert _findings(root) == cold  # primes the cache
    (cache_file,) = (root / ".somatrace_cache").glob("*.json")
    # A header line, then `"<path>"\t<stat>\t<digest>\t<result JSON>` per file.
    header, *lines = cache_file.read_bytes().split(b"\n")
    assert b'"layout":2' in header
    stored = [json.loads(line.split(b"\t", 3)[3]) for line in lines]
    lazy = [r for r in stored if "facets_json" in r]
    assert lazy and all(isinstance(r["facets_json"], str) for r in lazy)
    assert not any("facets" in r for r in stored)
    assert _findings(root) == cold  # warm: the join is reused
    touched = root / "services" / "rag-api" / "app" / "main.py"
    touched.write_text(touched.read_text() + "\n# edited\n")
    assert _findings(root) == cold  # the join re-runs on facets decoded from the cache


def test_a_quiet_result_is_answered_from_its_first_bytes_and_decoded_only_when_read(
    tmp_path: Path,
) -> None:
    from somatrace.checks.lint.cache import Cache, QuietResult

    root = tmp_path / "project"
    root.mkdir()
    quiet = {"findings": [], "deferred": [], "parsed": False, "imports": "os sys"}
    loud = {"findings": [{"code": "ST203", "line": 3}], "deferred": [], "parsed": True}
    cache = Cache.load(root, "settings")
    cache.store("quiet.py", (10, 1, 1), "d1", quiet)
    cache.store("loud.py", (20, 2, 2), "d2", loud)
    cache.save()

    again = Cache.load(root, "settings")
    found = again.lookup("quiet.py", (10, 1, 1))
    assert isinstance(found, QuietResult)
    assert found["findings"] == [] and found.get("deferred") == []
    assert again.entries["quiet.py"]._result is None  # nothing decoded for those two
    assert found["imports"] == "os sys" and dict(found) == quiet  # the rest decodes on demand
    assert again.lookup("loud.py", (20, 2, 2)) == loud  # a result with findings is a dict
    assert again.lookup("quiet.py", (10, 1, 2)) is None  # another inode: not this entry
    again.dirty = True
    again.save()  # untouched and decoded entries are written back alike
    assert dict(Cache.load(root, "settings").lookup("quiet.py", (10, 1, 1)) or {}) == quiet


def test_a_quiet_result_tells_its_scan_and_facets_from_its_bytes(tmp_path: Path) -> None:
    """The join reads whether a cached file spells the init function, whether it was scanned
    and whether it has facets without decoding it; each answer equals the decoded one, also
    when the facets' JSON text holds the same keys (escaped inside a string)."""
    from somatrace.checks.lint.cache import Cache, QuietResult

    root = tmp_path / "project"
    root.mkdir()
    results = {
        "spells.py": {"findings": [], "deferred": [], "parsed": False,
                      "mentions_init": True, "imports": "app.obs os", "facets": {}},
        "plain.py": {"findings": [], "deferred": [], "parsed": True, "mentions_init": False,
                     "imports": "os", "facets": {"values": {"mentions_init": True,
                                                            "imports": "x"}}},
        "unscanned.py": {"findings": [], "deferred": [], "parsed": False, "facets": {}},
        "bare.py": {"findings": [], "deferred": [], "parsed": False},
    }  # fmt: skip
    cache = Cache.load(root, "settings")
    for number, (name, result) in enumerate(results.items()):
        cache.store(name, (number, number, number), f"d{number}", result)
    cache.save()
    again = Cache.load(root, "settings")
    for number, (name, result) in enumerate(results.items()):
        found = again.lookup(name, (number, number, number))
        assert isinstance(found, QuietResult), name
        assert found.has_key("imports") is ("imports" in result), name
        assert found.is_true("mentions_init") is (result.get("mentions_init") is True), name
        assert found.has_facets() is bool(result.get("facets", True)), name
        assert dict(found)["findings"] == []  # and decoded, it is the stored result
        assert found.get("imports") == result.get("imports"), name


def test_a_warm_join_follows_the_init_spelled_in_a_cached_module(tmp_path: Path) -> None:
    """After an edit, the join reruns on cached results: the module that initialises tracing is
    known from its cached bytes, and the entrypoint importing it is still proven traced."""
    root = tmp_path / "svc"
    (root / "app").mkdir(parents=True)
    (root / "app" / "__init__.py").write_text("")
    (root / "app" / "obs.py").write_text(
        "from somatrace.tracing import init_tracing\n\ninit_tracing('svc')\n"
    )
    (root / "app" / "helpers.py").write_text("import app.obs\n")
    main = root / "app" / "main.py"
    main.write_text("from fastapi import FastAPI\nimport app.helpers\n\napp = FastAPI()\n")
    (root / "app" / "bare.py").write_text("from fastapi import FastAPI\n\nother = FastAPI()\n")
    init_repo(root)
    cold = _findings(root, "--no-cache")
    assert [line.split(":")[0] for line in cold if " ST101 " in line] == ["app/bare.py"]
    assert _findings(root) == cold  # primes the cache
    main.write_text(main.read_text() + "# edited\n")
    assert _findings(root) == cold  # obs.py and helpers.py come from the cache
