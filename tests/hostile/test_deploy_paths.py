"""`deploy validate` read any file a helmfile's `values:` named (`../..`, absolute paths, links
out of the tree) and printed values in schema errors (`DV201 users[0].user.token: 'SECRET-...'`).
Now nothing outside the project is opened - a DV204 finding names each refused path - and no
message shows a value, for the repository's own values files too."""

from __future__ import annotations

import json
from pathlib import Path

from tests.hostile.repo_b import HostileRepo

HELM = "deploy/helm/app"
OUTSIDE_SECRETS = ["SECRET-OUTSIDE-rel-71f3", "SECRET-OUTSIDE-abs-93c1", "SECRET-OUTSIDE-link-0d2e",
                   "SECRET-OUTSIDE-readfile-5b7a", "SECRET-OUTSIDE-schema-c4d8"]  # fmt: skip
INLINE_SECRETS = ["SECRET-INLINE-token-2a9f", "SECRET-INLINE-enum-8e11", "SECRET-INLINE-pat-6c0b"]

SCHEMA = {
    "type": "object",
    "properties": {
        "replicas": {"type": "integer"},
        "mode": {"enum": ["fast", "safe"]},
        "apiKey": {"type": "string", "pattern": "^ref:"},
        "users": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "user": {"type": "object", "properties": {"token": {"type": "object"}}}
                },
            },
        },
    },
}


def _repo(tmp_path: Path) -> HostileRepo:
    repo = HostileRepo.build(tmp_path)
    outside = repo.outside
    outside.write(
        {
            "rel-values.yaml": f"users:\n  - user:\n      token: {OUTSIDE_SECRETS[0]}\n",
            "abs-values.yaml": f"apiKey: {OUTSIDE_SECRETS[1]}\n",
            "link-values.yaml": f"mode: {OUTSIDE_SECRETS[2]}\n",
            "default.yaml": f"apiKey: {OUTSIDE_SECRETS[3]}\n",
            "schema.json": json.dumps({"title": OUTSIDE_SECRETS[4], "type": "object"}),
            "manifest.yaml": f"apiVersion: v1\nkind: Secret\nstringData:\n  k: {OUTSIDE_SECRETS[0]}\n",
        }
    )
    escape = "../" * (len(HELM.split("/")) + 1) + "outside"  # from the helmfile's folder
    helmfile = f"""
releases:
  - name: hostile
    namespace: apps
    chart: ./chart
    values:
      - {escape}/rel-values.yaml
      - {outside.root}/abs-values.yaml
      - values-link.yaml
      - values-env.yaml.gotmpl
  - name: canary
    namespace: apps
    chart: ./chart
    values:
      - values-common.yaml
"""
    repo_files = {
        f"{HELM}/helmfile.yaml": helmfile,
        f"{HELM}/values-env.yaml.gotmpl": (
            f'{{{{ readFile (printf "{escape}/%s.yaml" .Environment.Name) }}}}\n'
        ),
        f"{HELM}/values-common.yaml": (
            "replicas: 2\n"
            f"mode: {INLINE_SECRETS[1]}\n"
            f"apiKey: {INLINE_SECRETS[2]}\n"
            "users:\n"
            f"  - user:\n      token: {INLINE_SECRETS[0]}\n"
        ),
        f"{HELM}/values.schema.json": json.dumps(SCHEMA),
        "deploy/k8s/namespace.yaml": "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: apps\n",
        # a second helmfile whose values schema is a link out of the tree: not read
        "deploy/helm/other/helmfile.yaml": (
            "releases:\n  - name: other\n    namespace: apps\n    chart: ./chart\n"
            "    values:\n      - values.yaml\n"
        ),
        "deploy/helm/other/values.yaml": "replicas: 1\n",
    }
    for rel, body in repo_files.items():
        path = repo.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(body.lstrip("\n"), encoding="utf-8")
    repo.link(f"{HELM}/values-link.yaml", outside.root / "link-values.yaml")
    repo.link("deploy/k8s/leaked.yaml", outside.root / "manifest.yaml")
    repo.link("deploy/helm/other/values.schema.json", outside.root / "schema.json")
    repo.commit()
    repo.secrets = OUTSIDE_SECRETS + INLINE_SECRETS
    outside.arm()
    return repo


def test_values_outside_the_project_are_refused_and_not_read(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    done = repo.run("deploy", "validate", "deploy", "--no-policy-rules")
    assert done.returncode == 1, done.stdout + done.stderr
    out = done.stdout
    escape = "../" * (len(HELM.split("/")) + 1) + "outside"
    for refused in (
        f"values file '{escape}/rel-values.yaml' is outside the project",
        f"values file '{repo.outside.root}/abs-values.yaml' is outside the project",
        "values file 'values-link.yaml' is outside the project",
        f"readFile target '{escape}/default.yaml' is outside the project",
    ):
        assert refused in out and "DV204" in out, out
    assert "deploy/k8s/leaked.yaml:1:1: DV001 not read: it is a symlink" in out
    repo.outside.assert_untouched()


def test_schema_errors_never_show_a_value(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    done = repo.run("deploy", "validate", "deploy")
    assert done.returncode == 1
    common = f"{HELM}/values-common.yaml"
    expected = [
        f"{common}:2:7: DV201 mode: ****(23 chars) is not one of ['fast', 'safe']",
        f"{common}:3:9: DV201 apiKey: ****(22 chars) does not match '^ref:'",
        f"{common}:6:14: DV201 users[0].user.token: ****(24 chars) is not of type 'object'",
    ]
    for line in expected:  # the canary release is still validated, value-free
        assert any(o.startswith(line) for o in done.stdout.splitlines()), done.stdout
    as_json = repo.run("deploy", "validate", "deploy", "--output-format", "json")
    issues = json.loads(as_json.stdout)  # the records of `check --output-format json`
    assert {i["code"] for i in issues} >= {"DV201", "DV204", "DV001"}
    repo.outside.assert_untouched()
