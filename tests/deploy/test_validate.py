"""`somatrace deploy validate`: the shipped deploy/ passes, and each kind of broken input fails
with a precise, located message. Every case edits a copy of the real deploy/ directory."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from somatrace.checks.api import check_paths
from somatrace.checks.deploy.validate import validate_directory
from tests.deploy.conftest import REPO
from tests.helpers import run_cli

SECRET = "sk-lf-4f6a0c1e-9d2b-4c3a-8e7f-0123456789ab"


@pytest.fixture
def deploy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the repository's deploy/ in a scratch working directory."""
    shutil.copytree(REPO / "deploy", tmp_path / "deploy")
    monkeypatch.chdir(tmp_path)
    return tmp_path / "deploy"


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert text.count(old) == 1, f"{old!r} must occur once in {path}"
    path.write_text(text.replace(old, new))


def line_of(path: Path, needle: str) -> int:
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if needle in line:
            return number
    raise AssertionError(f"{needle!r} not in {path}")


def issues(deploy: Path, *, policy_rules: bool = False) -> list[str]:
    """Everything but the `somatrace check` rules (tested on their own below)."""
    check_rules = (lambda root: check_paths([root])) if policy_rules else None
    return [str(i) for i in validate_directory(deploy, check_rules=check_rules).issues]


def test_shipped_deploy_directory_passes() -> None:
    done = run_cli("deploy", "validate", "deploy", cwd=REPO)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith("All checks passed!")
    assert "objects" in done.stderr and ": ok" in done.stderr


def test_values_typo_is_located_with_a_suggestion(deploy: Path) -> None:
    prod = deploy / "helm/langfuse/values-prod.yaml"
    edit(prod, "  web:\n    replicas: 2", "  web:\n    replica: 2")
    found = issues(deploy)
    line = line_of(prod, "replica: 2")
    assert found == [
        f"deploy/helm/langfuse/values-prod.yaml:{line}:5: DV201 unknown key 'replica' (did you mean "
        "'replicas'?) in langfuse.web — not a key of the chart's values [environment: prod]"
    ]


def test_values_type_error_names_the_file_that_set_it(deploy: Path) -> None:
    common = deploy / "helm/langfuse/values-common.yaml"
    edit(common, "    telemetryEnabled: false", "    telemetryEnabled: nope")
    (found,) = issues(deploy)
    assert found.startswith(
        f"deploy/helm/langfuse/values-common.yaml:{line_of(common, 'telemetryEnabled')}:"
    )
    assert (
        "DV201 langfuse.features.telemetryEnabled: ****(4 chars) is not of type 'boolean'" in found
    )
    assert found.endswith("[environment: dev, prod]")


def test_missing_external_secret_key(deploy: Path) -> None:
    edit(
        deploy / "k8s/externalsecrets.yaml",
        "    - secretKey: encryption-key",
        "    - secretKey: encryption_key",
    )
    common = deploy / "helm/langfuse/values-common.yaml"
    (found,) = issues(deploy)
    assert found.startswith(
        f"deploy/helm/langfuse/values-common.yaml:{line_of(common, 'key: encryption-key')}:"
    )
    assert (
        "DV301 release 'langfuse' values reads key 'encryption-key' of Secret 'langfuse-app', but "
        "ExternalSecret langfuse-app in namespace 'langfuse' produces only encryption_key, nextauth-secret, "
        "salt"
    ) in found


def test_missing_external_secret(deploy: Path) -> None:
    secrets = deploy / "k8s/externalsecrets.yaml"
    text = secrets.read_text()
    start = text.index(
        "apiVersion: external-secrets.io/v1\nkind: ExternalSecret\nmetadata:\n  name: langfuse-okta"
    )
    end = text.index("---", start)
    secrets.write_text(text[:start] + text[end + 4 :])
    found = issues(deploy)
    assert len(found) == 2  # client-id and client-secret
    assert all(
        "DV301" in f
        and "Secret 'langfuse-okta'" in f
        and "no ExternalSecret in namespace 'langfuse' produces it" in f
        for f in found
    )


def test_existing_secret_key_checked(deploy: Path) -> None:
    common = deploy / "helm/langfuse/values-common.yaml"
    edit(
        common,
        "    existingSecretPasswordKey: password",
        "    existingSecretPasswordKey: redis-password",
    )
    (found,) = issues(deploy)
    assert found.startswith(
        f"deploy/helm/langfuse/values-common.yaml:{line_of(common, 'existingSecret: langfuse-redis')}:"
    )
    assert (
        "DV301 release 'langfuse' values reads key 'redis-password' of Secret 'langfuse-redis'"
        in found
    )
    assert found.endswith("produces only password [environment: dev, prod]")


def test_manifest_secret_ref_checked_too(deploy: Path) -> None:
    cron = deploy / "k8s/nightly-eval-cronjob.yaml"
    edit(cron, "                      key: otlp-headers", "                      key: otlp-header")
    (found,) = issues(deploy)
    assert found.startswith(
        f"deploy/k8s/nightly-eval-cronjob.yaml:{line_of(cron, 'key: otlp-header')}:"
    )
    assert (
        "DV301 CronJob nightly-rag-eval reads key 'otlp-header' of Secret 'langfuse-eval-api'"
        in found
    )
    assert "otlp-headers, public_key, secret_key" in found


def test_inline_secret_in_values(deploy: Path) -> None:
    common = deploy / "helm/langfuse/values-common.yaml"
    edit(
        common,
        "  salt:\n    secretKeyRef:\n      name: langfuse-app\n      key: salt\n",
        '  salt:\n    value: "pepper-and-salt-1234"\n',
    )
    edit(common, "    existingSecret: langfuse-clickhouse\n", "    password: changeme\n")
    found = issues(deploy)
    assert (
        f"deploy/helm/langfuse/values-common.yaml:{line_of(common, 'pepper-and-salt')}:12: DV202 "
        "langfuse.salt.value is an inline secret; use langfuse.salt.secretKeyRef (an ExternalSecret key) "
        "[environment: dev, prod]"
    ) in found
    assert (
        f"deploy/helm/langfuse/values-common.yaml:{line_of(common, 'password: changeme')}:15: DV202 "
        "clickhouse.auth.password is an inline password; use the section's existingSecret "
        "[environment: dev, prod]"
    ) in found
    assert not any("pepper-and-salt" in f or "changeme" in f for f in found)


def test_inline_secret_in_additional_env_is_masked(deploy: Path) -> None:
    prod = deploy / "helm/langfuse/values-prod.yaml"
    edit(
        prod,
        '      value: "--max-old-space-size=3072"\n',
        f'      value: "--max-old-space-size=3072"\n    - name: LANGFUSE_SECRET_KEY\n      value: "{SECRET}"\n',
    )
    found = issues(deploy)
    line = line_of(prod, SECRET)
    assert any(
        f.startswith(f"deploy/helm/langfuse/values-prod.yaml:{line}:")
        and "DV202 env LANGFUSE_SECRET_KEY" in f
        for f in found
    )
    assert any(
        "ST401 LANGFUSE_SECRET_KEY holds a literal Langfuse key (sk-lf-****(42 chars))" in f
        for f in found
    )
    assert not any(SECRET in f for f in found)


def test_inline_kubernetes_secret(deploy: Path) -> None:
    (deploy / "k8s/okta-secret.yaml").write_text(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: leaked\n  namespace: langfuse\n"
        "stringData:\n  client-secret: abc\n"
    )
    (found,) = issues(deploy)
    assert found == (
        "deploy/k8s/okta-secret.yaml:2:7: DV202 Secret leaked carries its values inline; "
        "produce it with an ExternalSecret from Vault"
    )


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            '  schedule: "0 2 * * *"',
            '  schedule: "0 25 * * *"',
            "DV104 CronJob llm-eval/nightly-rag-eval: invalid schedule '0 25 * * *': hour 25 is out of range 0-23",
        ),
        (
            '  schedule: "0 2 * * *"',
            '  schedule: "0 2 * *"',
            "DV104 CronJob llm-eval/nightly-rag-eval: invalid schedule '0 2 * *': expected 5 fields",
        ),
        (
            "  timeZone: Etc/UTC",
            "  timeZone: Mars/Olympus",
            "DV104 CronJob llm-eval/nightly-rag-eval: unknown timeZone 'Mars/Olympus'",
        ),
        (
            "          restartPolicy: Never",
            "          restartPolicy: Always",
            "DV104 CronJob llm-eval/nightly-rag-eval: a Job's restartPolicy must be OnFailure or Never, not 'Always'",
        ),
        (
            "  concurrencyPolicy: Forbid",
            "  concurrencyPolicy: Forbid\n  schedul: x",
            "DV101 CronJob llm-eval/nightly-rag-eval: unknown field(s) 'schedul' (at spec; Kubernetes 1.31 schema)",
        ),
        (
            "  startingDeadlineSeconds: 3600",
            "  startingDeadlineSeconds: soon",
            "DV101 CronJob llm-eval/nightly-rag-eval: ****(4 chars) is not of type 'integer'",
        ),
    ],
)
def test_invalid_cronjob(deploy: Path, old: str, new: str, expected: str) -> None:
    cron = deploy / "k8s/nightly-eval-cronjob.yaml"
    edit(cron, old, new)
    (found,) = issues(deploy)
    first_new_line = new.splitlines()[-1].strip()
    assert found.startswith(
        f"deploy/k8s/nightly-eval-cronjob.yaml:{line_of(cron, first_new_line)}:"
    ), found
    assert expected in found


def test_cronjob_without_job_template(deploy: Path) -> None:
    cron = deploy / "k8s/nightly-eval-cronjob.yaml"
    text = cron.read_text()
    cron.write_text(text[: text.index("  jobTemplate:")])
    (found,) = issues(deploy)
    assert "DV101 CronJob llm-eval/nightly-rag-eval: 'jobTemplate' is required (at spec" in found


def test_unknown_namespace(deploy: Path) -> None:
    cron = deploy / "k8s/nightly-eval-cronjob.yaml"
    edit(
        cron,
        "  name: nightly-rag-eval\n  namespace: llm-eval",
        "  name: nightly-rag-eval\n  namespace: llm-evals",
    )
    found = issues(deploy)
    assert (
        f"deploy/k8s/nightly-eval-cronjob.yaml:{line_of(cron, 'llm-evals')}:14: DV302 CronJob nightly-rag-eval: "
        "namespace 'llm-evals' is not declared by any Namespace object"
    ) in found
    # and what that breaks: its ServiceAccount and Secret are in llm-eval, not llm-evals
    assert any(
        "DV303 CronJob nightly-rag-eval: ServiceAccount 'nightly-eval' is not defined" in f
        for f in found
    )
    assert any("DV301" in f and "namespace 'llm-evals'" in f for f in found)


def test_unknown_namespace_in_network_policy_and_release(deploy: Path) -> None:
    edit(
        deploy / "k8s/networkpolicies.yaml",
        "kubernetes.io/metadata.name: llm-services\n        - namespaceSelector",
        "kubernetes.io/metadata.name: llm-service\n        - namespaceSelector",
    )
    edit(
        deploy / "helm/langfuse/helmfile.yaml",
        "    namespace: langfuse\n",
        "    namespace: langfuse-x\n",
    )
    found = issues(deploy)
    assert any(
        "DV302 NetworkPolicy allow-otlp-ingestion: selects namespace 'llm-service'" in f
        for f in found
    )
    assert any(
        "helmfile.yaml" in f and "DV302 release 'langfuse': namespace 'langfuse-x'" in f
        for f in found
    )


@pytest.mark.parametrize(
    ("file", "old", "new", "expected"),
    [
        (
            "k8s/externalsecrets.yaml",
            "    kind: SecretStore\n  target:\n    name: langfuse-app",
            "    kind: Store\n  target:\n    name: langfuse-app",
            "DV102 ExternalSecret langfuse/langfuse-app: ****(5 chars) is not one of ['SecretStore', 'ClusterSecretStore']",
        ),
        (
            "k8s/secretstores.yaml",
            "      version: v2\n      auth:\n        kubernetes:\n          mountPath: kubernetes\n"
            "          role: observability-langfuse",
            "      version: v3\n      auth:\n        kubernetes:\n          mountPath: kubernetes\n"
            "          role: observability-langfuse",
            "DV102 SecretStore langfuse/vault-observability: ****(2 chars) is not one of ['v1', 'v2']",
        ),
        (
            "k8s/externalsecrets.yaml",
            "      remoteRef:\n        key: observability/langfuse-redis",
            "      remoteRefs:\n        key: observability/langfuse-redis",
            "DV102 ExternalSecret langfuse/langfuse-redis: unknown field(s) 'remoteRefs'",
        ),
    ],
)
def test_crd_schema_errors(deploy: Path, file: str, old: str, new: str, expected: str) -> None:
    edit(deploy / file, old, new)
    found = issues(deploy)
    assert any(expected in f for f in found), found


def test_missing_secret_store(deploy: Path) -> None:
    edit(
        deploy / "k8s/externalsecrets.yaml",
        "    name: vault-observability\n    kind: SecretStore\n  target:\n    name: langfuse-redis",
        "    name: vault\n    kind: SecretStore\n  target:\n    name: langfuse-redis",
    )
    (found,) = issues(deploy)
    assert (
        "DV303 ExternalSecret langfuse-redis: SecretStore 'vault' is not defined in namespace 'langfuse'"
        in found
    )


def test_tracing_policy_in_workload_env(deploy: Path) -> None:
    cron = deploy / "k8s/nightly-eval-cronjob.yaml"
    edit(
        cron,
        '- name: TRACELOOP_TRACE_CONTENT\n                  value: "false"',
        '- name: TRACELOOP_TRACE_CONTENT\n                  value: "True"',
    )
    edit(
        cron,
        '- name: LANGFUSE_SAMPLING_RATE\n                  value: "1.0"',
        '- name: LANGFUSE_SAMPLING_RATE\n                  value: "0.25"',
    )
    found = issues(deploy)
    content_line = line_of(cron, 'value: "True"')
    assert (
        f"deploy/k8s/nightly-eval-cronjob.yaml:{content_line}:26: ST202 CronJob "
        "nightly-rag-eval: container 'eval': TRACELOOP_TRACE_CONTENT=True turns prompt/completion capture on; "
        "set it to false"
    ) in found
    assert any(
        f.startswith(f"deploy/k8s/nightly-eval-cronjob.yaml:{line_of(cron, '0.25')}:")
        and "ST402" in f
        and "LANGFUSE_SAMPLING_RATE=0.25 samples below policy (minimum 1.0)" in f
        for f in found
    )


def test_missing_endpoint_and_literal_key(deploy: Path) -> None:
    cron = deploy / "k8s/nightly-eval-cronjob.yaml"
    edit(
        cron,
        "                - name: OTEL_EXPORTER_OTLP_ENDPOINT\n"
        "                  value: http://langfuse-web.langfuse.svc.cluster.local:3000/api/public/otel\n",
        "",
    )
    edit(
        cron,
        "                - name: LANGFUSE_SECRET_KEY\n                  valueFrom:\n                    "
        "secretKeyRef:\n                      name: langfuse-eval-api\n                      key: secret_key\n",
        f"                - name: LANGFUSE_SECRET_KEY\n                  value: {SECRET}\n",
    )
    found = issues(deploy)
    assert any(
        "ST403 CronJob nightly-rag-eval: container 'eval': OTEL_EXPORTER_OTLP_ENDPOINT is not set"
        in f
        for f in found
    )
    assert any("ST401" in f and "sk-lf-****(42 chars)" in f for f in found)
    assert not any(SECRET in f for f in found)


def test_configmap_with_content_on(deploy: Path) -> None:
    defaults = deploy / "k8s/otel-defaults.yaml"
    text = defaults.read_text()
    defaults.write_text(
        text.replace('TRACELOOP_TRACE_CONTENT: "false"', 'TRACELOOP_TRACE_CONTENT: "true"', 1)
    )
    (found,) = issues(deploy)
    content_line = line_of(defaults, 'TRACE_CONTENT: "true"')
    assert found.startswith(f"deploy/k8s/otel-defaults.yaml:{content_line}:")
    assert "ST202 ConfigMap otel-defaults: TRACELOOP_TRACE_CONTENT=true" in found


def test_helmfile_structure_and_values_files(deploy: Path) -> None:
    helmfile = deploy / "helm/langfuse/helmfile.yaml"
    edit(helmfile, "      - values-common.yaml\n", "      - values-base.yaml\n")
    (found,) = issues(deploy)
    assert found.startswith(
        f"deploy/helm/langfuse/helmfile.yaml:{line_of(helmfile, 'values-base.yaml')}:"
    )
    assert "DV204 values file 'values-base.yaml' does not exist" in found
    edit(helmfile, "releases:\n", "relases:\n")
    (found,) = issues(deploy)
    assert "DV203 helmfile: unknown key(s) 'relases' in <root>" in found


def test_values_template_needs_its_environment_file(deploy: Path) -> None:
    (deploy / "helm/langfuse/values-dev.yaml").unlink()
    (found,) = issues(deploy)
    assert (
        "DV204 values template 'values-env.yaml.gotmpl': reads 'values-dev.yaml' for environment 'dev'"
        in found
    )


def test_yaml_syntax_error_is_located(deploy: Path) -> None:
    (deploy / "k8s/broken.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: [oops\n"
    )
    (found,) = issues(deploy)
    assert found.startswith("deploy/k8s/broken.yaml:5:1: DV001 invalid YAML")


def test_objects_that_validate_nothing_are_reported(deploy: Path) -> None:
    cron = deploy / "k8s/nightly-eval-cronjob.yaml"
    edit(cron, "apiVersion: batch/v1\nkind: CronJob", "apiversion: batch/v1\nkind: CronJob")
    (deploy / "k8s/notes.yaml").write_text("owner: platform-team\n")
    found = issues(deploy)
    assert (
        f"deploy/k8s/nightly-eval-cronjob.yaml:{line_of(cron, 'apiversion')}:1: DV101 not a Kubernetes object: "
        "'apiVersion' is missing" in found
    )
    assert any(
        f.startswith("deploy/k8s/notes.yaml:1:1: DV101 neither a Kubernetes object") for f in found
    )


def test_somatrace_check_rules_run_over_the_directory(deploy: Path) -> None:
    (deploy / "service.py").write_text(
        'from traceloop.sdk import Traceloop\n\nTraceloop.init(app_name="svc")\n'
    )
    found = issues(deploy, policy_rules=True)
    assert any(f.startswith("deploy/service.py:3:1: ST102") for f in found), found


def test_cli_json_output_and_exit_codes(deploy: Path) -> None:
    edit(
        deploy / "k8s/nightly-eval-cronjob.yaml",
        '  schedule: "0 2 * * *"',
        '  schedule: "@nightly"',
    )
    done = run_cli("deploy", "validate", str(deploy), "--output-format", "json", cwd=deploy.parent)
    assert done.returncode == 1
    (issue,) = json.loads(done.stdout)  # the records of `somatrace check --output-format json`
    assert issue["code"] == "DV104" and "unknown macro '@nightly'" in issue["message"]
    assert issue["name"] is not None and issue["path"] == "deploy/k8s/nightly-eval-cronjob.yaml"
    assert "1 helmfile(s): 1 problem(s)" in done.stderr
    missing = run_cli("deploy", "validate", "no-such-dir", cwd=deploy.parent)
    assert missing.returncode == 2 and "no-such-dir: no such file or directory" in missing.stderr


def test_deploy_findings_go_through_selection_noqa_and_every_reporter(deploy: Path) -> None:
    """DV codes are codes like any other: --select/--ignore, `# noqa: DV104` on the line, and
    the SARIF / GitHub reporters of `somatrace check`."""
    cronjob = deploy / "k8s/nightly-eval-cronjob.yaml"
    edit(cronjob, '  schedule: "0 2 * * *"', '  schedule: "@nightly"')
    line = line_of(cronjob, "@nightly")
    sarif = run_cli(
        "deploy", "validate", str(deploy), "--output-format", "sarif", cwd=deploy.parent
    )
    assert sarif.returncode == 1
    (result,) = json.loads(sarif.stdout)["runs"][0]["results"]
    assert result["ruleId"] == "DV104"
    assert result["locations"][0]["physicalLocation"]["region"]["startLine"] == line
    github = run_cli(
        "deploy", "validate", str(deploy), "--output-format", "github", cwd=deploy.parent
    )
    assert github.stdout.startswith(
        f"::error file=deploy/k8s/nightly-eval-cronjob.yaml,line={line},col=13,"
        "title=DV104 workload-semantics::DV104 CronJob"
    ), github.stdout
    ignored = run_cli("deploy", "validate", str(deploy), "--ignore", "DV1", cwd=deploy.parent)
    assert ignored.returncode == 0, ignored.stdout + ignored.stderr
    other = run_cli("deploy", "validate", str(deploy), "--select", "DV2", cwd=deploy.parent)
    assert other.returncode == 0, other.stdout + other.stderr
    chosen = run_cli("deploy", "validate", str(deploy), "--select", "DV104", cwd=deploy.parent)
    assert chosen.returncode == 1 and "DV104" in chosen.stdout
    unknown = run_cli("deploy", "validate", str(deploy), "--select", "DV999", cwd=deploy.parent)
    assert unknown.returncode == 2 and "Unknown rule selector: `DV999`" in unknown.stderr
    edit(cronjob, '  schedule: "@nightly"', '  schedule: "@nightly"  # noqa: DV104')
    quiet = run_cli("deploy", "validate", str(deploy), cwd=deploy.parent)
    assert quiet.returncode == 0, quiet.stdout + quiet.stderr


def test_packaged_values_schema_is_the_deployed_one() -> None:
    shipped = REPO / "checks/deploy/schemas/langfuse-values.schema.json"
    assert shipped.read_bytes() == (REPO / "deploy/helm/langfuse/values.schema.json").read_bytes()
