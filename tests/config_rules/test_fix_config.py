"""ST202's fix through the real ``somatrace fix``: the truthy word becomes ``false`` in place,
every other byte of every config format stays as it was, and a second check is clean."""

from __future__ import annotations

from pathlib import Path

from tests.helpers import run_cli, write_pyproject

# path -> (before, after). Written byte-for-byte (no dedent): CRLF and odd spacing included.
CASES: dict[str, tuple[str, str]] = {
    "services/api/.env": (
        'APP=api\r\nexport TRACE_CONTENT = "True"  # debug\r\nSINGLE_TRACE_CONTENT=x\r\n'
        "TRACELOOP_TRACE_CONTENT='1'\r\n",
        'APP=api\r\nexport TRACE_CONTENT = "false"  # debug\r\nSINGLE_TRACE_CONTENT=x\r\n'
        "TRACELOOP_TRACE_CONTENT='false'\r\n",
    ),
    "services/api/Dockerfile": (
        "FROM python:3.11-slim\nENV APP=api \\\n    TRACE_CONTENT='1'   \\\n    B=2\n"
        "ENV TRACELOOP_TRACE_CONTENT On\n",
        "FROM python:3.11-slim\nENV APP=api \\\n    TRACE_CONTENT='false'   \\\n    B=2\n"
        "ENV TRACELOOP_TRACE_CONTENT false\n",
    ),
    "deploy/k8s/api.yaml": (
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: api}\nspec:\n  template:\n"
        "    spec:\n      containers:\n        - name: app\n          env:\n"
        '            - name: TRACE_CONTENT\n              value: "true"   # why\n'
        "            - {name: TRACELOOP_TRACE_CONTENT, value: yes}\n",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: api}\nspec:\n  template:\n"
        "    spec:\n      containers:\n        - name: app\n          env:\n"
        '            - name: TRACE_CONTENT\n              value: "false"   # why\n'
        "            - {name: TRACELOOP_TRACE_CONTENT, value: false}\n",
    ),
    "docker-compose.yml": (
        "x-env: &env\n  TRACE_CONTENT: 'on'\nservices:\n  a:\n    environment: *env\n"
        "  b:\n    environment:\n      <<: *env\n  c:\n    environment:\n"
        '      - "TRACELOOP_TRACE_CONTENT=1"\n',
        "x-env: &env\n  TRACE_CONTENT: 'false'\nservices:\n  a:\n    environment: *env\n"
        "  b:\n    environment:\n      <<: *env\n  c:\n    environment:\n"
        '      - "TRACELOOP_TRACE_CONTENT=false"\n',
    ),
    ".github/workflows/ci.yml": (
        "on: push\nenv:\n  TRACE_CONTENT: TRUE\njobs:\n  t:\n    runs-on: ubuntu-latest\n"
        '    env: {TRACELOOP_TRACE_CONTENT: "1"}\n    steps:\n      - run: pytest\n'
        "        env:\n          OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT: yes\n",
        "on: push\nenv:\n  TRACE_CONTENT: false\njobs:\n  t:\n    runs-on: ubuntu-latest\n"
        '    env: {TRACELOOP_TRACE_CONTENT: "false"}\n    steps:\n      - run: pytest\n'
        "        env:\n          OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT: false\n",
    ),
    "charts/api/templates/configmap.yaml": (
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  labels:\n"
        '    {{- include "api.labels" . | nindent 4 }}\ndata:\n  TRACE_CONTENT: "1"\n',
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  labels:\n"
        '    {{- include "api.labels" . | nindent 4 }}\ndata:\n  TRACE_CONTENT: "false"\n',
    ),
}


def test_fix_sets_false_in_place_in_every_format(tmp_path: Path) -> None:
    write_pyproject(tmp_path, {"select": ["ST202"]})
    for rel, (before, _) in CASES.items():
        target = tmp_path / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(before.encode())
    first = run_cli("check", ".", "--no-cache", "--output-format", "json", cwd=tmp_path)
    assert first.returncode == 1, first.stderr
    fixed = run_cli("fix", ".", "--no-cache", cwd=tmp_path)
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    for rel, (_, after) in CASES.items():
        assert (tmp_path / rel).read_bytes() == after.encode(), rel
    again = run_cli("check", ".", "--no-cache", cwd=tmp_path)
    assert again.returncode == 0, again.stdout


def test_a_value_the_source_does_not_spell_verbatim_is_reported_without_a_fix(
    tmp_path: Path,
) -> None:
    write_pyproject(tmp_path, {"select": ["ST202"]})
    text = 'env:\n  TRACE_CONTENT: "\\x74rue"\n'  # YAML escape: the value is "true"
    (tmp_path / "values.yaml").write_text(text, encoding="utf-8")
    out = run_cli("fix", ".", "--no-cache", cwd=tmp_path)
    assert out.returncode == 1
    assert (tmp_path / "values.yaml").read_text(encoding="utf-8") == text
    assert "ST202" in out.stdout
