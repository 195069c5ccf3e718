"""``somatrace audit-cluster``: report live workloads whose env breaks the tracing policy."""

from __future__ import annotations

import argparse
import json
import sys
from decimal import Decimal, InvalidOperation

from somatrace.checks.lint.errors import UsageError


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-n",
        "--namespace",
        action="append",
        required=True,
        dest="namespaces",
        help="namespace to audit (repeatable)",
    )
    parser.add_argument(
        "--kubeconfig",
        default=None,
        help="kubeconfig file (default: $KUBECONFIG or ~/.kube/config)",
    )
    parser.add_argument("--context", default=None, help="kubeconfig context")
    parser.add_argument("--in-cluster", action="store_true", help="use the pod's ServiceAccount")
    parser.add_argument(
        "--min-sampling-rate", default="1.0", help="lowest acceptable sampling rate (default: 1.0)"
    )
    parser.add_argument("--output-format", choices=("text", "json"), default="text")


def run(args: argparse.Namespace) -> int:
    from kubernetes.config import ConfigException

    from somatrace.checks.deploy.audit import api_client_from_config, audit_objects, read_cluster
    from somatrace.checks.policy.environ import EnvPolicy

    try:
        rate = Decimal(args.min_sampling_rate)
    except InvalidOperation as exc:
        raise UsageError(
            f"--min-sampling-rate: {args.min_sampling_rate!r} is not a number"
        ) from exc
    try:
        api_client = api_client_from_config(args.kubeconfig, args.context, args.in_cluster)
    except (ConfigException, OSError, TypeError) as exc:
        raise UsageError(f"no usable Kubernetes configuration: {exc}") from exc
    from kubernetes.client.exceptions import ApiException
    from urllib3.exceptions import HTTPError

    try:
        workloads, configmaps = read_cluster(
            api_client, args.namespaces, lambda m: print(f"warning: {m}", file=sys.stderr)
        )
    except ApiException as exc:
        print(
            f"somatrace: error: the API server refused: {exc.status} {exc.reason}", file=sys.stderr
        )
        return 2
    except HTTPError as exc:
        print(f"somatrace: error: cannot reach the API server: {exc}", file=sys.stderr)
        return 2
    findings = audit_objects(workloads, configmaps, EnvPolicy(min_sampling_rate=rate))
    if args.output_format == "json":
        print(
            json.dumps(
                {"workloads": len(workloads), "findings": [f.to_dict() for f in findings]}, indent=2
            )
        )
    else:
        for finding in findings:
            print(finding)
        print(
            f"{len(workloads)} workload(s) in {', '.join(args.namespaces)}: "
            f"{len(findings)} finding(s)",
            file=sys.stderr,
        )
    return 1 if findings else 0
