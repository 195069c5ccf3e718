"""``somatrace deploy validate [DIR]``: validate a deployment directory offline."""

from __future__ import annotations

import argparse
import json
import sys
from decimal import Decimal, InvalidOperation
from pathlib import Path

from somatrace.checks.cli.presentation import printable
from somatrace.checks.lint.errors import UsageError
from somatrace.checks.lint.findings import Finding


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
    validate.add_argument("--output-format", choices=("text", "json"), default="text")
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
    if args.output_format == "json":
        payload = {
            "ok": report.ok,
            "files": report.files,
            "objects": report.objects,
            "helmfiles": report.helmfiles,
            "issues": [i.to_dict() for i in report.issues],
        }
        print(json.dumps(payload, indent=2))
    else:
        for issue in report.issues:
            print(printable(str(issue)))
        verdict = "ok" if report.ok else f"{len(report.issues)} problem(s)"
        print(
            f"{root}: {report.files} files, {report.objects} objects, "
            f"{report.helmfiles} helmfile(s): {verdict}",
            file=sys.stderr,
        )
    return 0 if report.ok else 1


def _check_rules(root: Path) -> list[Finding]:
    """The gate's own rules over the directory (ST202/ST401/ST402 on its YAML, and any code)."""
    from somatrace.checks.api import check_paths

    return check_paths([root])
