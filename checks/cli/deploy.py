"""``somatrace deploy validate [DIR]``: validate a deployment directory offline."""

from __future__ import annotations

import argparse
import sys
from decimal import Decimal, InvalidOperation
from pathlib import Path

from somatrace.checks.cli.options import add_output_file, rule_codes
from somatrace.checks.lint.boundary import inside
from somatrace.checks.lint.config import is_selected
from somatrace.checks.lint.engine import CheckResult
from somatrace.checks.lint.errors import UsageError
from somatrace.checks.lint.findings import Finding
from somatrace.checks.lint.suppression import NoqaMap, noqa_map
from somatrace.checks.reporters import FORMATS, get_reporter


def configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="deploy_command", metavar="SUBCOMMAND")
    sub.required = True
    validate = sub.add_parser(
        "validate",
        help="validate manifests, helmfile, values and cross-references offline",
        description=(
            "Validate every Kubernetes manifest (Kubernetes and CRD schemas), every helmfile "
            "and its values (values schema, no inline secrets), cross-references (Secrets "
            "produced by ExternalSecrets, namespaces declared) and the tracing policy, "
            "without a cluster."
        ),
    )
    validate.add_argument(
        "directory", nargs="?", default="deploy", help="directory or file (default: deploy)"
    )
    validate.add_argument(
        "--kubernetes-version", default=None, help="Kubernetes schema version (default: 1.31)"
    )
    validate.add_argument(
        "--min-sampling-rate", default="1.0", help="lowest acceptable sampling rate (default: 1.0)"
    )
    validate.add_argument(
        "--output-format", choices=FORMATS, default="text",
        help="the reporters of `somatrace check` (default: text)",
    )  # fmt: skip
    add_output_file(validate, "write the report here instead of stdout")
    validate.add_argument(
        "--select", type=rule_codes, help="only these codes or prefixes (comma-separated)"
    )
    validate.add_argument(
        "--ignore", type=rule_codes, default=[], help="skip these codes or prefixes"
    )
    validate.add_argument(
        "--no-policy-rules",
        action="store_true",
        help="do not run the rules of `somatrace check` over the directory",
    )


def run(args: argparse.Namespace) -> int:
    from somatrace.checks.deploy.kube import DEFAULT_KUBERNETES_VERSION
    from somatrace.checks.deploy.validate import validate_directory
    from somatrace.checks.policy.environ import EnvPolicy

    root = Path(args.directory)
    if not root.exists():
        raise UsageError(f"{args.directory}: no such file or directory")
    try:
        rate = Decimal(args.min_sampling_rate)
    except InvalidOperation as exc:
        raise UsageError(
            f"--min-sampling-rate: {args.min_sampling_rate!r} is not a number"
        ) from exc
    version = args.kubernetes_version or DEFAULT_KUBERNETES_VERSION
    report = validate_directory(
        root,
        kubernetes_version=version,
        policy=EnvPolicy(min_sampling_rate=rate),
        check_rules=None if args.no_policy_rules else _check_rules,
    )
    findings = _selected(report.issues, args.select or ["ALL"], args.ignore)
    assert report.project is not None
    findings = _not_suppressed(findings, report.project)
    result = CheckResult(findings=findings, files_checked=report.files, roots=[root])
    text = get_reporter(args.output_format)(result)
    if args.output is not None:
        args.output.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    verdict = "ok" if not findings else f"{len(findings)} problem(s)"
    print(
        f"{root}: {report.files} files, {report.objects} objects, "
        f"{report.helmfiles} helmfile(s): {verdict}",
        file=sys.stderr,
    )
    return 1 if findings else 0


def _selected(findings: list[Finding], select: list[str], ignore: list[str]) -> list[Finding]:
    return [f for f in findings if is_selected(f.code, select, ignore)]


def _not_suppressed(findings: list[Finding], project: Path) -> list[Finding]:
    """``# noqa: DV201`` (and file-wide exemptions) in the YAML files, as in `somatrace check`;
    a file whose real location is outside the project is not read for them either."""
    maps: dict[str, NoqaMap] = {}
    kept = []
    for finding in findings:
        if finding.path not in maps:
            maps[finding.path] = _noqa_of(Path(finding.path), project)
        if not maps[finding.path].suppresses(finding):
            kept.append(finding)
    return kept


def _noqa_of(path: Path, project: Path) -> NoqaMap:
    if not inside(path, project):
        return NoqaMap()
    try:
        return noqa_map(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError):
        return NoqaMap()


def _check_rules(root: Path) -> list[Finding]:
    """The gate's own rules over the directory (ST202/ST401/ST402 on its YAML, and any code)."""
    from somatrace.checks.api import check_paths

    return check_paths([root])
