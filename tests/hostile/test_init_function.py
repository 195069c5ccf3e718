"""`init-function` comes from the repository's own config: `init-function = "os.system"` with a
`service-name` glob made `fix` insert `system("...")` into every entrypoint. `fix` now inserts
only somatrace's `init_tracing` or a function the project itself defines (found with `ast` in a
file inside the project, never imported); anything else is a config error before any write.
The inserted call takes only the service name, as an escaped string literal."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.hostile.repo_b import CANARY, UNTRACED_APP, HostileRepo

PWNED = "pwned-by-config"


def _calls(source: str) -> list[tuple[str, list[object]]]:
    out = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            args = [a.value if isinstance(a, ast.Constant) else ast.dump(a) for a in node.args]
            out.append((node.func.id, args))
    return out


@pytest.mark.parametrize(
    ("function", "commands"),
    [
        ("os.system", (["fix", "."], ["fix", "--diff", "."], ["check", "--fix", "."])),
        ("subprocess.getoutput", (["fix", "."],)),
        ("somatrace.checks.cli.main.main", (["fix", "."],)),
        ("platform_obs.start", (["fix", "."],)),  # no such module in the project
        ("not a name", (["fix", "."],)),
    ],
)
def test_foreign_init_functions_are_a_config_error(
    tmp_path: Path, function: str, commands: tuple[list[str], ...]
) -> None:
    marker = tmp_path / PWNED
    repo = HostileRepo.build(
        tmp_path,
        settings={
            "init-function": function,
            "service-name": {"services/**": f"x; touch {marker}"},
        },
    )
    repo.commit()
    repo.outside.arm()
    before = repo.read(CANARY)
    for args in commands:
        done = repo.run(*args)
        assert done.returncode == 2, done.stdout + done.stderr
        assert f"`init-function` {function!r}" in done.stderr, done.stderr
        assert "`somatrace fix` will not insert it" in done.stderr
        assert repo.read(CANARY) == before  # nothing written, not even the canary
        assert not marker.exists()
    # checking is unaffected: the canary is still reported (so is the other service, which
    # calls somatrace's helper instead of the configured one)
    findings = repo.findings(".")
    assert any(f["path"] == CANARY and f["code"] == "ST101" for f in findings), findings
    repo.outside.assert_untouched()


def test_a_function_the_project_defines_is_inserted(tmp_path: Path) -> None:
    repo = HostileRepo.build(
        tmp_path,
        files={"platform_obs/__init__.py": "def start(service):\n    return service\n"},
        settings={"init-function": "platform_obs.start"},
    )
    repo.commit()
    done = repo.run("fix", ".")
    assert done.returncode == 0, done.stdout + done.stderr
    fixed = repo.read(CANARY)
    assert "from platform_obs import start\n" in fixed
    assert ("start", ["canary"]) in _calls(fixed)


@pytest.mark.parametrize(
    ("module", "why"),
    [
        ("start = __import__('os').system\n", "defines no top-level function 'start'"),
        ("class start:\n    pass\n", "defines no top-level function 'start'"),
        ("def other():\n    pass\n", "defines no top-level function 'start'"),
    ],
)
def test_a_project_module_without_that_function_is_refused(
    tmp_path: Path, module: str, why: str
) -> None:
    repo = HostileRepo.build(
        tmp_path,
        files={"platform_obs.py": module},
        settings={"init-function": "platform_obs.start"},
    )
    repo.commit()
    done = repo.run("fix", ".")
    assert done.returncode == 2, done.stdout + done.stderr
    assert why in done.stderr
    assert repo.read(CANARY) == UNTRACED_APP


def test_a_module_linked_from_outside_the_project_is_refused(tmp_path: Path) -> None:
    repo = HostileRepo.build(tmp_path, settings={"init-function": "platform_obs.start"})
    repo.outside.write({"platform_obs.py": "def start(service):\n    import os\n"})
    repo.link("platform_obs.py", repo.outside.root / "platform_obs.py")
    repo.commit()
    repo.outside.arm()
    done = repo.run("fix", ".")
    assert done.returncode == 2, done.stdout + done.stderr
    assert "module 'platform_obs' of 'platform_obs.start' resolves outside the project" in (
        done.stderr
    )
    assert repo.read(CANARY) == UNTRACED_APP
    repo.outside.assert_untouched()


@pytest.mark.parametrize(
    "name",
    [
        'a")\nimport os\nos.system("id")\n#',
        "a'); __import__('os').system('id'); ('",
        "back\\slash\\",
        "tab\tand\r\nnewline\u2028sep\x1b[31m",
    ],
)
def test_the_service_name_is_only_ever_a_string_literal(tmp_path: Path, name: str) -> None:
    repo = HostileRepo.build(tmp_path, settings={"service-name": {"services/canary/**": name}})
    repo.commit()
    done = repo.run("fix", ".")
    assert done.returncode == 0, done.stdout + done.stderr
    fixed = repo.read(CANARY)
    tree = ast.parse(fixed)
    assert [n for n in ast.walk(tree) if isinstance(n, ast.Import)] == []
    assert _calls(fixed) == [("init_tracing", [name]), ("FastAPI", [])]
    assert len(fixed.splitlines()) == len(UNTRACED_APP.splitlines()) + 2
