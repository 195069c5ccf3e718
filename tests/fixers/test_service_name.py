"""Where the service name in ``init_tracing("<service>")`` comes from, in order."""

from __future__ import annotations

from pathlib import Path

from somatrace.checks.lint.config import Config
from somatrace.fixers.support.service_name import resolve_service_name


def touch(path: Path, text: str = "") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def name_of(root: Path, rel: str, **values: object) -> tuple[str, str]:
    config = Config(root=root, values=dict(values))
    found = resolve_service_name(root / rel, rel, config)
    return found.name, found.source


def test_config_glob_wins(tmp_path: Path) -> None:
    touch(tmp_path / "services/search/app/main.py")
    table = {"services/search/**": "search-gateway", "services/**": "other"}
    assert name_of(tmp_path, "services/search/app/main.py", **{"service-name": table}) == (
        "search-gateway",
        "config",
    )


def test_services_folder(tmp_path: Path) -> None:
    touch(tmp_path / "services/billing/app/main.py")
    touch(tmp_path / "services/billing/pyproject.toml", '[project]\nname = "ignored"\n')
    assert name_of(tmp_path, "services/billing/app/main.py") == ("billing", "path")


def test_nearest_pyproject_name_then_poetry(tmp_path: Path) -> None:
    touch(tmp_path / "apps/ledger/server.py")
    touch(tmp_path / "apps/ledger/pyproject.toml", '[tool.poetry]\nname = "ledger-api"\n')
    touch(tmp_path / "pyproject.toml", '[project]\nname = "monorepo"\n')
    assert name_of(tmp_path, "apps/ledger/server.py") == ("ledger-api", "pyproject")
    touch(tmp_path / "apps/other/server.py")
    assert name_of(tmp_path, "apps/other/server.py") == ("monorepo", "pyproject")


def test_package_folder_skips_generic_names(tmp_path: Path) -> None:
    touch(tmp_path / "fastchat/__init__.py")
    touch(tmp_path / "fastchat/serve/__init__.py")
    touch(tmp_path / "fastchat/serve/controller.py")
    assert name_of(tmp_path, "fastchat/serve/controller.py") == ("fastchat", "folder")
    touch(tmp_path / "chatbot/app/__init__.py")
    touch(tmp_path / "chatbot/app/main.py")
    assert name_of(tmp_path, "chatbot/app/main.py") == ("chatbot", "folder")
    touch(tmp_path / "scripts/serve.py")
    assert name_of(tmp_path, "scripts/serve.py") == ("scripts", "folder")
