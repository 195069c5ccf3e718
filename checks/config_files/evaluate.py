"""Config files judged by the tracing policy: scanned variables -> env_policy -> findings.

The policy itself (what is truthy, what is a literal secret, what samples too little) lives in
:mod:`somatrace.checks.policy.environ`, shared with the manifest validator and the cluster audit;
this module only feeds it located variables and turns its verdicts into located findings.
ST202, ST401 and ST402 each ask for their own code; the scan and the evaluation run once per
file (kept in ``FileContext.memo``).
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal

from somatrace.checks.config_files import scan_config
from somatrace.checks.config_files.model import ConfigScan, LocatedVar
from somatrace.checks.lint.codes import PARSE_ERROR
from somatrace.checks.lint.config import Config, is_selected
from somatrace.checks.lint.findings import Finding
from somatrace.checks.lint.rule import FileContext
from somatrace.checks.policy.environ import (
    CODE_HARDCODED_SECRET,
    CONTENT_SWITCHES,
    EnvPolicy,
    EnvVar,
    EnvViolation,
    evaluate_env,
    evaluate_var,
)

_VIOLATIONS_KEY = "somatrace.checks.config_files.evaluate:violations"
_PROBLEMS_KEY = "somatrace.checks.config_files.evaluate:problems-reported"
# How a headers entry is handed to env_policy: percent-encoded, so the policy's OTLP header
# parser sees exactly this one header whatever characters it holds.
_HEADERS_VAR = "OTEL_EXPORTER_OTLP_HEADERS"


@dataclass(frozen=True, slots=True)
class LocatedViolation:
    violation: EnvViolation
    var: LocatedVar
    is_header: bool = False


def policy_for(config: Config) -> EnvPolicy:
    """The env policy a project's ``[tool.somatrace]`` asks for (config files state no endpoint
    requirement: a values file or a .env is rarely a process's whole environment)."""
    extra = tuple(name for name in config.get("content-switches") if name not in CONTENT_SWITCHES)
    return EnvPolicy(
        min_sampling_rate=Decimal(str(config.get("min-sampling-rate"))),
        require_endpoint=False,
        content_switches=CONTENT_SWITCHES + extra,
    )


def content_switch_names(config: Config) -> tuple[str, ...]:
    return policy_for(config).content_switches


def header_violations(name: str, value: str, policy: EnvPolicy) -> list[EnvViolation]:
    """The policy's verdict on one literal exporter header ``name: value``."""
    encoded = f"{urllib.parse.quote(name, safe='')}={urllib.parse.quote(value, safe='')}"
    return [
        v for v in evaluate_var(_HEADERS_VAR, encoded, policy) if v.code == CODE_HARDCODED_SECRET
    ]


def _evaluate(scan: ConfigScan, policy: EnvPolicy) -> list[LocatedViolation]:
    out: list[LocatedViolation] = []
    seen: set[tuple[str, int, int]] = set()

    def add(violation: EnvViolation, var: LocatedVar, is_header: bool = False) -> None:
        where = var.location
        key = (violation.code, where.line, where.col)
        if key not in seen:
            seen.add(key)
            out.append(LocatedViolation(violation, var, is_header))

    for group in scan.groups:
        by_key = {(var.name, var.location.line): var for var in group.variables}
        env = [EnvVar(var.name, var.value, var.location.line) for var in group.variables]
        for violation in evaluate_env(env, policy):
            var = by_key.get((violation.name, violation.line or 0))
            if var is not None:
                add(violation, var)
    for header in scan.headers:
        if header.value is None:
            continue
        for violation in header_violations(header.name, header.value, policy):
            add(violation, header, is_header=True)
    out.sort(key=lambda lv: (lv.var.location.line, lv.var.location.col))
    return out


def located_violations(text: str, ctx: FileContext) -> list[LocatedViolation]:
    """Every policy violation in one config file, computed once per file."""
    if _VIOLATIONS_KEY not in ctx.memo:
        scan = scan_config(text, ctx.relpath, ctx.memo)
        ctx.memo[_VIOLATIONS_KEY] = [] if scan is None else _evaluate(scan, policy_for(ctx.config))
    return ctx.memo[_VIOLATIONS_KEY]


def problem_findings(text: str, ctx: FileContext) -> Iterator[Finding]:
    """ST900 for a config file that could not be read structurally: once per file, and only
    when ST900 is selected."""
    if ctx.memo.get(_PROBLEMS_KEY) or not is_selected(
        PARSE_ERROR, ctx.config.select, ctx.config.ignore
    ):
        return
    ctx.memo[_PROBLEMS_KEY] = True
    scan = scan_config(text, ctx.relpath, ctx.memo)
    for problem in scan.problems if scan is not None else ():
        yield Finding(
            ctx.display_path,
            problem.line,
            problem.col,
            PARSE_ERROR,
            f"cannot parse this file ({problem.reason}); checked it line by line instead",
        )


def config_findings(
    code: str,
    text: str,
    ctx: FileContext,
    *,
    message: Callable[[LocatedViolation], str] | None = None,
    extra: Callable[[LocatedViolation], dict[str, object]] | None = None,
) -> Iterator[Finding]:
    """The findings of rule ``code`` in one config file (plus the file's ST900, once)."""
    yield from problem_findings(text, ctx)
    for located in located_violations(text, ctx):
        if located.violation.code != code:
            continue
        var, where = located.var, located.var.location
        data: dict[str, object] = {"variable": var.name}
        if var.where:
            data["where"] = var.where
        if located.violation.masked_value is not None:
            data["masked_value"] = located.violation.masked_value
        if extra is not None:
            data.update(extra(located))
        yield Finding(
            ctx.display_path,
            where.line,
            where.col,
            code,
            message(located) if message else located.violation.message,
            end_line=where.end_line,
            end_col=where.end_col,
            data=data,
        )
