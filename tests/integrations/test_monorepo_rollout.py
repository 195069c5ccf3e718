"""``somatrace check .`` at the root of a real monorepo: services generated from a
cookiecutter-style template (kept in the repository, with a Jinja ``pyproject.toml`` that is no
valid TOML), each service's config extending the platform's, and one legacy service with a
config of its own. The run gives findings, exit 1, and the platform's inherited policy."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jinja2

from tests.helpers import git, init_repo, run_cli, write_files, write_pyproject

TEMPLATE = {
    "cookiecutter.json": json.dumps({"slug": "svc", "traced": "yes", "python": "3.11"}),
    "{{cookiecutter.slug}}/pyproject.toml": """
        [project]
        name = "{{ cookiecutter.slug }}"
        version = "0.1.0"
        {%- if cookiecutter.python %}
        requires-python = ">={{ cookiecutter.python }}"
        {%- endif %}
    """,
    "{{cookiecutter.slug}}/app/__init__.py": "",
    "{{cookiecutter.slug}}/app/main.py": """
        from fastapi import FastAPI
        {% if cookiecutter.traced == "yes" %}
        from somatrace.tags import bind
        from somatrace.tracing import init_tracing

        init_tracing("{{ cookiecutter.slug }}")
        {% endif %}
        app = FastAPI()


        @app.get("/")
        def index():
            with bind(tenant_id="t", workflow_name="w", agent_id="a"):
                return {}
    """,
    # cookiecutter runs this in the generated project: it joins the platform policy.
    "hooks/post_gen_project.py": """
        from pathlib import Path

        with Path("pyproject.toml").open("a", encoding="utf-8") as fh:
            fh.write('\\n[tool.somatrace]\\nextend = "../../pyproject.toml"\\n')
    """,
}


def render_template(template: Path, out: Path, context: dict[str, str]) -> Path:
    """What ``cookiecutter --no-input`` does: render names and contents, run the post hook."""
    env = jinja2.Environment(keep_trailing_newline=True)
    defaults = json.loads((template / "cookiecutter.json").read_text())
    cookie = {"cookiecutter": {**defaults, **context}}
    project = None
    for path in sorted(template.rglob("*")):
        rel = path.relative_to(template)
        if not path.is_file() or rel.parts[0] in ("hooks", "cookiecutter.json"):
            continue
        target = out / env.from_string(str(rel)).render(cookie)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(env.from_string(path.read_text()).render(cookie))
        project = out / target.relative_to(out).parts[0]
    assert project is not None
    subprocess.run(
        [sys.executable, str(template / "hooks/post_gen_project.py")], cwd=project, check=True
    )
    return project


def test_check_at_the_root_of_a_templated_monorepo(tmp_path: Path) -> None:
    root = tmp_path / "fleet"
    root.mkdir()
    init_repo(root)
    write_pyproject(
        root,
        {
            "entrypoints": ["services/*/app/main.py"],
            "required-tags": ["tenant_id", "workflow_name", "agent_id", "cost_center"],
            "exclude": ["templates"],
        },
        name="platform",
    )
    write_files(root / "templates/service", TEMPLATE)
    chat = render_template(
        root / "templates/service", root / "services", {"slug": "chat", "traced": "no"}
    )
    billing = render_template(root / "templates/service", root / "services", {"slug": "billing"})
    assert "extend" in (chat / "pyproject.toml").read_text()
    write_files(
        root,
        {
            "services/legacy/pyproject.toml": '[project]\nname = "legacy"\n\n[tool.somatrace]\nselect = ["ST1"]\n',
            "services/legacy/app/main.py": "from fastapi import FastAPI\n\napp = FastAPI()\n",
        },
    )
    git(root, "add", "-A")
    git(root, "commit", "-qm", "fleet from the template")

    out = run_cli("check", ".", "--output-format", "json", "--verbose", cwd=root)
    assert out.returncode == 1, out.stderr
    found = {(r["path"], r["code"]): r["message"] for r in json.loads(out.stdout)}
    # The untraced service from the template is caught ...
    assert ("services/chat/app/main.py", "ST101") in found
    # ... the traced one misses the tag only the platform requires (inherited through extend).
    assert "cost_center" in found[("services/billing/app/main.py", "ST302")]
    # The legacy service's own config inherits nothing: its select stands, ST101 is found there.
    assert ("services/legacy/app/main.py", "ST101") in found
    # The template is no config and no code to check; --verbose says why it was passed over.
    assert not any(path.startswith("templates/") for path, _ in found)
    assert "templates/service/{{cookiecutter.slug}}/pyproject.toml: not valid TOML" in out.stderr

    shown = run_cli(
        "check",
        "--show-settings",
        str(billing / "app/main.py"),
        "--output-format",
        "json",
        cwd=root,
    )
    view = json.loads(shown.stdout)
    assert view["extends"] == [str(root / "pyproject.toml")]
    assert view["settings"]["entrypoints"]["value"] == ["/app/main.py"]
    legacy = json.loads(
        run_cli(
            "check",
            "--show-settings",
            "services/legacy/app/main.py",
            "--output-format",
            "json",
            cwd=root,
        ).stdout
    )
    assert legacy["not_inherited"] == str(root / "pyproject.toml")
