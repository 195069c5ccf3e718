"""The tracing policy for environment variables, wherever they are found.

One pure module decides whether environment variables, as a service would receive them, break
the tracing policy. Callers find the variables (a Kubernetes container's ``env``, Helm values,
a ``.env`` file, a workflow's ``env:``, a live cluster) and hand them over as :class:`EnvVar`;
this module never reads files or talks to anything.

Two entry points:

- :func:`evaluate_var` judges one variable on its own (what a config-file line can prove):
  content capture switched on (ST202), a literal credential (ST401), a sampling rate below
  policy (ST402, for ``LANGFUSE_SAMPLING_RATE`` / ``LANGFUSE_SAMPLE_RATE``).
- :func:`evaluate_env` judges the complete environment of one process (a container): every
  per-variable finding, plus what needs the whole set — ``OTEL_TRACES_SAMPLER_ARG`` counts with
  a ratio sampler or with none (the spine's default sampler is ``parentbased_traceidratio``),
  an ``always_off`` sampler drops everything, and a missing
  ``OTEL_EXPORTER_OTLP_ENDPOINT`` means nothing is exported (ST403).

A value that is a reference (``${VAR}``, ``$(VAR)``, a template, a ``valueFrom``) is never a
hard-coded secret, and is not judged for content or sampling: its real value is not known here.
Secret values never leave this module: messages and :attr:`EnvViolation.masked_value` carry only
:func:`mask_secret`'s form.
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from somatrace.checks.lint.codes import (
    HARDCODED_OTLP_SECRET,
    MISSING_OTLP_ENDPOINT,
    SAMPLING_BELOW_POLICY,
    TRACE_CONTENT_ENABLED_CONFIG,
)
from somatrace.policy import (
    CONTENT_SWITCHES,
    ENDPOINT_VARS,
    HEADER_VARS,
    OFF_SAMPLERS,
    RATIO_SAMPLERS,
    SAMPLER_ARG_VAR,
    SAMPLER_VAR,
    SAMPLING_RATE_VARS,
    TRUE_VALUES,
)

__all__ = [
    "CODE_CONTENT_ON",
    "CODE_HARDCODED_SECRET",
    "CODE_MISSING_ENDPOINT",
    "CODE_SAMPLING_BELOW_POLICY",
    "CONTENT_SWITCHES",
    "DEFAULT_POLICY",
    "ENDPOINT_VARS",
    "HEADER_VARS",
    "KEY_VARS",
    "SAMPLING_RATE_VARS",
    "EnvPolicy",
    "EnvVar",
    "EnvViolation",
    "evaluate_env",
    "evaluate_var",
    "is_reference",
    "is_truthy",
    "mask_secret",
    "mask_secrets",
    "mask_value",
    "secret_spans",
]

CODE_CONTENT_ON = TRACE_CONTENT_ENABLED_CONFIG
CODE_HARDCODED_SECRET = HARDCODED_OTLP_SECRET
CODE_SAMPLING_BELOW_POLICY = SAMPLING_BELOW_POLICY
# Not in the original catalogue: a workload that exports nowhere. Kept as one constant so the
# catalogue owner can renumber it in one place.
CODE_MISSING_ENDPOINT = MISSING_OTLP_ENDPOINT

# Switches that make OpenLLMetry / OpenTelemetry GenAI instrumentations record prompt and
# completion text. TRACELOOP_TRACE_CONTENT defaults to "true", so only an explicit falsy value
# is safe — but that is a property of the whole environment, not of a line (see evaluate_env).
KEY_VARS: dict[str, str] = {"LANGFUSE_SECRET_KEY": "sk-lf-", "LANGFUSE_PUBLIC_KEY": "pk-lf-"}
SECRET_HEADER_NAMES = frozenset({"x-langfuse-secret", "x-langfuse-secret-key"})
_AUTH_SCHEMES = ("basic", "bearer")

# A variable or key whose name says it holds a secret (also used for Helm env lists).
SECRET_NAME = re.compile(r"(PASSWORD|SECRET|TOKEN|PRIVATE|CREDENTIAL|_KEY$|^KEY$)", re.IGNORECASE)
# user:password@ in a URL; group 1 is the password.
URL_CREDENTIALS = re.compile(r"://[^/:@\s]+:([^@\s]+)@")

# `$VAR` and `<PLACEHOLDER>`; `${...}`, `$(...)` and `{{ ... }}` are found by is_reference with
# str.find (a regex `\$\{[^}]*\}` rescans to the end of the value from every `${`: 94 s on a
# 1 MB `.env` of `'${A:-` repeated).
_REFERENCE = re.compile(r"\$[A-Za-z_]|<[A-Z_]+>")


@dataclass(frozen=True, slots=True)
class EnvVar:
    """One environment variable as a source declares it.

    ``value`` is the literal text, or ``None`` when the source takes it from elsewhere
    (Kubernetes ``valueFrom``, an ``envFrom`` Secret): then nothing about its content is known.
    ``line`` is the caller's location (1-based), passed through to violations untouched.
    """

    name: str
    value: str | None
    line: int | None = None

    @classmethod
    def from_k8s(cls, entry: Mapping[str, Any], line: int | None = None) -> EnvVar:
        """From one item of a Kubernetes container's ``env`` list (``name`` + ``value`` or
        ``valueFrom``). A missing ``value`` without ``valueFrom`` is the empty string, as in
        Kubernetes."""
        name = str(entry.get("name", ""))
        if "valueFrom" in entry and entry.get("value") is None:
            return cls(name, None, line)
        raw = entry.get("value", "")
        return cls(name, "" if raw is None else _scalar_text(raw), line)


@dataclass(frozen=True, slots=True)
class EnvViolation:
    """A policy violation by one variable (or, for ST403, by a missing one).

    ``masked_value`` is set for secrets and never holds the secret itself.
    """

    code: str
    name: str
    message: str
    line: int | None = None
    masked_value: str | None = None


@dataclass(frozen=True, slots=True)
class EnvPolicy:
    """What the fleet's tracing policy demands of an environment.

    ``min_sampling_rate`` is the lowest acceptable head-sampling ratio (1.0: keep every trace).
    ``allow_content`` turns ST202 off for environments whose policy allows prompt capture.
    ``content_switches`` are the variable names ST202 judges (a project may add its own).
    """

    min_sampling_rate: Decimal = Decimal("1.0")
    allow_content: bool = False
    require_endpoint: bool = True
    content_switches: tuple[str, ...] = CONTENT_SWITCHES


DEFAULT_POLICY = EnvPolicy()


def is_truthy(value: str | None) -> bool:
    """``true``/``1``/``yes``/``on`` in any case, surrounding quotes and blanks ignored."""
    if value is None:
        return False
    return value.strip().strip("'\"").strip().lower() in TRUE_VALUES


def is_reference(value: str | None) -> bool:
    """Whether the value is (or contains) a reference resolved elsewhere: ``${VAR}``,
    ``$(VAR)``, ``$VAR``, a ``{{ template }}``, a ``<PLACEHOLDER>``; ``None`` (``valueFrom``)
    counts as a reference too."""
    if value is None:
        return True
    for opening, closing in (("${", "}"), ("$(", ")")):
        start = value.find(opening)
        if start >= 0 and value.find(closing, start + 2) >= 0:
            return True
    if "{{" in value and any(
        0 <= line.find("{{") < line.find("}}", line.find("{{") + 2) for line in value.split("\n")
    ):
        return True
    return _REFERENCE.search(value) is not None


def mask_secret(value: str) -> str:
    """A form of a secret safe to print: its well-known prefix, never its content.

    >>> mask_secret("sk-lf-1234567890abcdef")
    'sk-lf-****(22 chars)'
    """
    text = value.strip()
    lowered = text.lower()
    for prefix in ("sk-lf-", "pk-lf-", "basic ", "bearer "):
        if lowered.startswith(prefix):
            return f"{text[: len(prefix)]}****({len(text)} chars)"
    return f"****({len(text)} chars)"


# -- finding secret-looking values in any text (diffs, messages) ---------------------------------
# What ST401 judges, as text patterns, so that a printer can mask every secret-looking value
# whatever rules are selected. Each pattern's group "v" is the value to mask.
_KEY_PREFIXES = "|".join(re.escape(p) for p in sorted(set(KEY_VARS.values())))
_TEXT_SECRETS = (
    # a Langfuse key, anywhere
    re.compile(rf"(?<![A-Za-z0-9_-])(?P<v>(?:{_KEY_PREFIXES})[A-Za-z0-9_\-]+)"),
    # Basic / Bearer credentials (the word is kept, the credential masked)
    re.compile(
        r"(?i)\b(?:basic|bearer)(?:[ \t]+|%20)"
        r"(?P<v>[\w+/=.~\-]*[0-9+/=][\w+/=.~\-]*|[\w+/=.~\-]{16,})"
    ),
    # a secret header's value in a headers string or mapping
    re.compile(
        r"(?i)(?:" + "|".join(re.escape(n) for n in sorted(SECRET_HEADER_NAMES)) + r")"
        r"[\"']?[ \t]*[=:][ \t]*[\"']?(?P<v>[^\s,\"'&]+)"
    ),
    # the password of a URL
    re.compile(r"://[^/:@\s]+:(?P<v>[^@\s/]+)@"),
    # name = "literal" / "name": "literal" / name: Type = "literal" / name="literal"
    re.compile(
        r"(?P<n>[A-Za-z_][A-Za-z0-9_.\-]*)[\"']?[ \t]*(?::[ \t]*[A-Za-z_][\w\[\], |.]*[ \t]*)?"
        r"(?:=|:(?!:))[ \t]*(?P<q>[\"'])(?P<v>[^\"'\n]{4,})(?P=q)"
    ),
    # NAME=value / name: value at the start of a line (.env, YAML, shell)
    re.compile(
        r"(?m)^[ \t]*(?:export[ \t]+|-[ \t]+)?(?P<n>[A-Za-z_][A-Za-z0-9_.\-]*)[ \t]*[=:][ \t]*"
        r"(?P<v>[^\s#\"'{\[][^\s#]{3,})[ \t]*(?:#.*)?$"
    ),
    # a Kubernetes / compose env entry: name: SECRET_X, then value: literal
    re.compile(
        r"(?m)name:[ \t]*[\"']?(?P<n>[A-Za-z_][A-Za-z0-9_]*)[\"']?[ \t]*\n[ \t]*value:[ \t]*"
        r"[\"']?(?P<v>[^\s\"'#][^\"'\n#]*?)[\"']?[ \t]*$"
    ),
)
_NOT_SECRET = re.compile(r"(?i)(?:true|false|yes|no|on|off|null|none|[0-9.]+)")


def _secret_name(name: str) -> bool:
    """``apiKey``, ``api-key``, ``API_KEY``, ``db.password``: a name that says "secret"."""
    snake = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name)
    return bool(SECRET_NAME.search(re.sub(r"[.\-]", "_", snake)))


def secret_spans(text: str) -> list[tuple[int, int]]:
    """``(start, end)`` of every secret-looking value in ``text``, merged and sorted: Langfuse
    keys, Basic/Bearer credentials, secret headers, URL passwords, and literal values of
    names that say "secret" (``password``, ``token``, ``*_KEY``...). References (``${X}``) and
    plain numbers or booleans are not secrets. Used where text is printed whatever rules run
    (``fix --diff``, deploy messages); it errs towards masking."""
    spans: list[tuple[int, int]] = []
    for index, pattern in enumerate(_TEXT_SECRETS):
        named = "n" in pattern.groupindex
        for match in pattern.finditer(text):
            value = match.group("v")
            if named and not _secret_name(match.group("n")):
                continue
            if is_reference(value) or (index >= 4 and _NOT_SECRET.fullmatch(value.strip())):
                continue
            spans.append(match.span("v"))
    spans.sort()
    merged: list[tuple[int, int]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def mask_secrets(text: str) -> str:
    """``text`` with every value :func:`secret_spans` finds replaced by :func:`mask_secret`'s
    form (the same for the same value, so a diff of two masked texts still lines up)."""
    out: list[str] = []
    last = 0
    for start, end in secret_spans(text):
        out.append(text[last:start])
        out.append(mask_secret(text[start:end]))
        last = end
    out.append(text[last:])
    return "".join(out)


def mask_value(value: object) -> str:
    """Any configured value as it may appear in a message: never its content (booleans and
    null are kept; they are no secret and say what is wrong)."""
    if value is None or isinstance(value, bool):
        return repr(value)
    if isinstance(value, Mapping):
        return f"a mapping of {len(value)} key(s)"
    if isinstance(value, list | tuple):
        return f"a list of {len(value)} item(s)"
    return mask_secret(str(value))


def evaluate_var(
    name: str, value: str | None, policy: EnvPolicy = DEFAULT_POLICY, *, line: int | None = None
) -> list[EnvViolation]:
    """Violations one variable proves on its own, whatever else the environment holds."""
    var = EnvVar(name, value, line)
    found: list[EnvViolation] = []
    found.extend(_content(var, policy))
    found.extend(_secrets(var))
    if var.name in SAMPLING_RATE_VARS:
        found.extend(_ratio_below_policy(var, policy))
    return found


def evaluate_env(
    env: Iterable[EnvVar] | Mapping[str, str | None],
    policy: EnvPolicy = DEFAULT_POLICY,
    *,
    where: int | None = None,
) -> list[EnvViolation]:
    """Violations of one process's complete environment.

    ``env`` is every variable the process gets (later duplicates win, as in Kubernetes).
    ``where`` is the line to report an absent variable at (ST403), e.g. the container's.
    Variables whose value is unknown (``valueFrom``) still count as present.
    """
    variables = _as_vars(env)
    final: dict[str, EnvVar] = {}
    for var in variables:
        final[var.name] = var
    found: list[EnvViolation] = []
    for var in final.values():
        found.extend(evaluate_var(var.name, var.value, policy, line=var.line))
    found.extend(_sampler(final, policy))
    if policy.require_endpoint and not any(
        name in final and (final[name].value is None or final[name].value.strip())
        for name in ENDPOINT_VARS
    ):
        found.append(
            EnvViolation(
                CODE_MISSING_ENDPOINT,
                ENDPOINT_VARS[0],
                f"{ENDPOINT_VARS[0]} is not set: spans from this process are exported nowhere "
                "(set it to the in-cluster OTLP endpoint)",
                where,
            )
        )
    return found


# -- the individual checks ----------------------------------------------------------------------


def _content(var: EnvVar, policy: EnvPolicy) -> list[EnvViolation]:
    if policy.allow_content or var.name not in policy.content_switches:
        return []
    if is_reference(var.value) or not is_truthy(var.value):
        return []
    return [
        EnvViolation(
            CODE_CONTENT_ON,
            var.name,
            f"{var.name}={var.value!s} turns prompt/completion capture on; set it to false",
            var.line,
        )
    ]


def _secrets(var: EnvVar) -> list[EnvViolation]:
    if var.value is None:
        return []
    if var.name in KEY_VARS:
        prefix = KEY_VARS[var.name]
        text = var.value.strip().strip("'\"")
        if text.startswith(prefix) and not is_reference(text):
            return [_secret(var, text, f"{var.name} holds a literal Langfuse key")]
        return []
    if var.name in HEADER_VARS:
        return [
            _secret(var, secret, f"{var.name} holds a literal credential in header '{header}'")
            for header, secret in _literal_header_secrets(var.value)
        ]
    return []


def _secret(var: EnvVar, secret: str, what: str) -> EnvViolation:
    masked = mask_secret(secret)
    return EnvViolation(
        CODE_HARDCODED_SECRET,
        var.name,
        f"{what} ({masked}); take it from a Secret (valueFrom.secretKeyRef) or ${{VAR}}",
        var.line,
        masked,
    )


def _literal_header_secrets(value: str) -> list[tuple[str, str]]:
    """``(header, secret)`` for each literal credential in an OTLP headers string
    (``k1=v1,k2=v2``, values URL-encoded as the OpenTelemetry spec says)."""
    found: list[tuple[str, str]] = []
    for pair in value.strip().strip("'\"").split(","):
        if "=" not in pair:
            continue
        raw_key, raw_value = pair.split("=", 1)
        key = urllib.parse.unquote(raw_key).strip().lower()
        header_value = urllib.parse.unquote(raw_value).strip()
        if not header_value or is_reference(header_value):
            continue
        if key in SECRET_HEADER_NAMES:
            found.append((key, header_value))
        elif key == "authorization":
            scheme, _, credential = header_value.partition(" ")
            if scheme.lower() in _AUTH_SCHEMES and credential.strip():
                found.append((key, header_value))
    return found


def _ratio_below_policy(var: EnvVar, policy: EnvPolicy) -> list[EnvViolation]:
    if is_reference(var.value):
        return []
    assert var.value is not None
    text = var.value.strip().strip("'\"")
    try:
        ratio = Decimal(text)
    except InvalidOperation:
        return [
            EnvViolation(
                CODE_SAMPLING_BELOW_POLICY,
                var.name,
                f"{var.name}={text!r} is not a number; policy needs a sampling rate of "
                f"{policy.min_sampling_rate}",
                var.line,
            )
        ]
    if ratio.is_nan() or ratio < policy.min_sampling_rate:
        return [
            EnvViolation(
                CODE_SAMPLING_BELOW_POLICY,
                var.name,
                f"{var.name}={text} samples below policy (minimum {policy.min_sampling_rate})",
                var.line,
            )
        ]
    return []


def _sampler(env: Mapping[str, EnvVar], policy: EnvPolicy) -> list[EnvViolation]:
    sampler_var = env.get(SAMPLER_VAR)
    if sampler_var is None:
        # The spine's default sampler is parentbased_traceidratio, so a lone
        # OTEL_TRACES_SAMPLER_ARG does lower sampling in a service that calls init_tracing.
        arg = env.get(SAMPLER_ARG_VAR)
        return _ratio_below_policy(arg, policy) if arg is not None else []
    if is_reference(sampler_var.value):
        return []
    assert sampler_var.value is not None
    sampler = sampler_var.value.strip().strip("'\"").lower()
    if sampler in OFF_SAMPLERS and policy.min_sampling_rate > 0:
        return [
            EnvViolation(
                CODE_SAMPLING_BELOW_POLICY,
                SAMPLER_VAR,
                f"{SAMPLER_VAR}={sampler} drops every trace (policy minimum "
                f"{policy.min_sampling_rate})",
                sampler_var.line,
            )
        ]
    arg = env.get(SAMPLER_ARG_VAR)
    if sampler in RATIO_SAMPLERS and arg is not None:
        return _ratio_below_policy(arg, policy)
    return []


def _as_vars(env: Iterable[EnvVar] | Mapping[str, str | None]) -> list[EnvVar]:
    if isinstance(env, Mapping):
        return [EnvVar(name, value) for name, value in env.items()]
    return list(env)


def _scalar_text(raw: object) -> str:
    """YAML scalars as the process would see them (``true`` -> ``"true"``)."""
    if isinstance(raw, bool):
        return "true" if raw else "false"
    return str(raw)
