"""How the project refers to a server function ST101 may leave to the process that spawns it:
handed to a task spawner of a running event loop (``create_task(serve())``,
``tg.start_soon(serve)``) or referred to any other way. Real files on disk, read by
:func:`referring_files` in the same pass as the helper names."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from somatrace.checks.analysis.references import referring_files, task_uses


@pytest.mark.parametrize(
    ("source", "uses"),
    [
        ("asyncio.create_task(serve())\n", (1, 0)),
        ("tasks.add(asyncio.create_task(bridge.serve(), name='x'))\n", (1, 0)),
        ("asyncio.ensure_future(serve())\nloop.create_task(serve())\n", (2, 0)),
        ("tg.start_soon(serve, port)\n", (1, 0)),
        ("await serve()\n", (0, 1)),
        ("asyncio.run(serve())\n", (0, 1)),
        ("asyncio.create_task(other(serve()))\n", (0, 1)),  # serve() runs before the task
        ("from pkg.bridge import serve as go\nasyncio.create_task(go())\n", (0, 1)),
        ("uvicorn.run('pkg.bridge:serve')\n", (0, 1)),
        ("from pkg.bridge import serve\n", (0, 0)),  # a bare import is no use
        ('"""asyncio.create_task(serve())"""\n', (0, 0)),
    ],
)
def test_task_uses(source: str, uses: tuple[int, int]) -> None:
    assert task_uses(ast.parse(source), "serve") == uses


def test_one_pass_tells_spawners_from_other_uses(tmp_path: Path) -> None:
    files = {
        "lifespan.py": "import asyncio\nfrom bridge import serve\n\n"
        "async def start():\n    asyncio.create_task(serve())\n",
        "program.py": "import asyncio\nfrom bridge import serve\n\n"
        "if __name__ == '__main__':\n    asyncio.run(asyncio.create_task(serve()))\n",
        "spawn_only.py": "import asyncio\nfrom bridge import run_other\n\n"
        "async def go():\n    asyncio.create_task(run_other())\n",
        "broken.py": "def run_other(:\n",
        "quiet.py": "x = 1\n",
    }
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    python = sorted(str(tmp_path / name) for name in files)
    found, read, uses = referring_files(python, [], {"launch"}, ["serve", "run_other", "absent"])
    assert found == {"launch": set()} and len(read) == len(files)
    assert uses["serve"].spawners == {str(tmp_path / "lifespan.py")}
    # a program that spawns it is what runs the process: another use
    assert uses["serve"].others == {str(tmp_path / "program.py")}
    assert uses["run_other"].spawners == {str(tmp_path / "spawn_only.py")}
    # a file CPython cannot parse cannot be ruled out
    assert uses["run_other"].others == {str(tmp_path / "broken.py")}
    assert (uses["absent"].spawners, uses["absent"].others) == (set(), set())


def test_a_name_used_otherwise_twice_is_settled_and_not_looked_for_again(tmp_path: Path) -> None:
    """Two files that call it plainly keep it reported whatever the rest says (one of them may
    be its own module), so a common name (`serve`) does not make the pass parse every file."""
    for i in range(4):
        (tmp_path / f"m{i}.py").write_text("from x import serve\n\nawait_it = serve()\n")
    python = sorted(str(p) for p in tmp_path.iterdir())
    _, _, uses = referring_files(python, [], set(), ["serve"])
    assert uses["serve"].others == {str(tmp_path / "m0.py"), str(tmp_path / "m1.py")}
    assert uses["serve"].spawners == set()
