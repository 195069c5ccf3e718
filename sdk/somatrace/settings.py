"""Configuration of the spine, read from the environment and overridden by options.

Pure Python on purpose (no OpenTelemetry import): the lint tool and the docs can use it.
Every variable read here is documented in ``docs/observability/.env.template``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

from somatrace.policy import (
    DEFAULT_ENDPOINT,
    DEFAULT_SAMPLER,
    FALSE_VALUES,
    RATIO_SAMPLERS,
    REQUIRED_TAGS,
    TRUE_VALUES,
)

DEFAULT_EXPORT_TIMEOUT_MS = 5_000
DEFAULT_MAX_QUEUE_SIZE = 2_048
DEFAULT_MAX_EXPORT_BATCH_SIZE = 512
DEFAULT_SCHEDULE_DELAY_MS = 1_000

_HEADER_NAME = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")


class ConfigError(ValueError):
    """A tracing setting has a value the spine cannot use; the message names it."""


def parse_bool(name: str, value: str | bool | None, default: bool) -> bool:
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    text = value.strip().lower()
    if text in TRUE_VALUES:
        return True
    if text in FALSE_VALUES:
        return False
    raise ConfigError(f"{name}={value!r} is not a boolean (use true or false)")


def parse_otlp_headers(text: str) -> dict[str, str]:
    """Parse ``OTEL_EXPORTER_OTLP_HEADERS`` per the OpenTelemetry specification.

    The format is W3C-baggage-like: ``key1=value1,key2=value2``; whitespace around
    entries is ignored and keys and values are percent-decoded (so
    ``Authorization=Basic%20cGs6c2s=`` gives ``Basic cGs6c2s=``). Malformed entries
    raise :class:`ConfigError` naming the entry position (never its value: it may be a secret).
    """
    headers: dict[str, str] = {}
    for position, entry in enumerate(text.split(","), start=1):
        if not entry.strip():
            continue
        key, separator, value = entry.partition("=")
        name = unquote(key.strip())
        if not separator or not _HEADER_NAME.match(name):
            raise ConfigError(
                f"OTEL_EXPORTER_OTLP_HEADERS entry {position} is not of the form name=value"
            )
        headers[name] = unquote(value.strip())
    return headers


def _float(name: str, value: str | float | int) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{name}={value!r} is not a number") from None


def _positive_int(name: str, value: str | int) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{name}={value!r} is not an integer") from None
    if number <= 0:
        raise ConfigError(f"{name}={value!r} must be positive")
    return number


def _csv(value: str | None) -> tuple[str, ...]:
    if not value:
        return ()
    return tuple(item.strip() for item in value.split(",") if item.strip())


@dataclass(frozen=True)
class TracingSettings:
    """Everything ``init_tracing`` decides from the environment and its options."""

    app_name: str
    endpoint: str = DEFAULT_ENDPOINT
    traces_endpoint: str = DEFAULT_ENDPOINT + "/v1/traces"
    headers: Mapping[str, str] = field(default_factory=dict)
    trace_content: bool = False
    content_tenants: frozenset[str] = frozenset()
    sample_rate: float = 1.0
    disable_batch: bool = False
    export_timeout_ms: int = DEFAULT_EXPORT_TIMEOUT_MS
    max_queue_size: int = DEFAULT_MAX_QUEUE_SIZE
    max_export_batch_size: int = DEFAULT_MAX_EXPORT_BATCH_SIZE
    schedule_delay_ms: int = DEFAULT_SCHEDULE_DELAY_MS
    required_tags: tuple[str, ...] = REQUIRED_TAGS
    prices_file: str | None = None
    redact_patterns_file: str | None = None
    redact_disable: tuple[str, ...] = ()
    resource_attributes: Mapping[str, Any] = field(default_factory=dict)
    enabled: bool = True
    instruments: tuple[str, ...] | None = None  # None: every instrumentation installed
    block_instruments: tuple[str, ...] = ()

    @property
    def captures_content(self) -> bool:
        """Whether any span may carry prompt/completion content at all."""
        return self.trace_content or bool(self.content_tenants)


OPTION_NAMES = frozenset(
    {
        "endpoint",
        "headers",
        "trace_content",
        "content_tenants",
        "sample_rate",
        "disable_batch",
        "export_timeout_ms",
        "max_queue_size",
        "max_export_batch_size",
        "schedule_delay_ms",
        "required_tags",
        "prices_file",
        "redact_patterns_file",
        "redact_disable",
        "resource_attributes",
        "enabled",
        "instruments",
        "block_instruments",
    }
)


def _sample_rate(env: Mapping[str, str], option: float | None) -> float:
    if option is not None:
        rate, source = _float("sample_rate", option), "sample_rate"
    elif env.get("OTEL_TRACES_SAMPLER_ARG") and (
        env.get("OTEL_TRACES_SAMPLER", DEFAULT_SAMPLER).strip().lower() in RATIO_SAMPLERS
    ):
        rate, source = (
            _float("OTEL_TRACES_SAMPLER_ARG", env["OTEL_TRACES_SAMPLER_ARG"]),
            "OTEL_TRACES_SAMPLER_ARG",
        )
    elif env.get("LANGFUSE_SAMPLING_RATE"):
        rate, source = (
            _float("LANGFUSE_SAMPLING_RATE", env["LANGFUSE_SAMPLING_RATE"]),
            "LANGFUSE_SAMPLING_RATE",
        )
    else:
        return 1.0
    if not 0.0 <= rate <= 1.0:
        raise ConfigError(f"{source}={rate!r} must be between 0 and 1")
    return rate


def _endpoints(env: Mapping[str, str], option: str | None) -> tuple[str, str]:
    base = (option or env.get("OTEL_EXPORTER_OTLP_ENDPOINT") or DEFAULT_ENDPOINT).strip()
    traces = (env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or "").strip() if not option else ""
    for name, url in (("endpoint", base), ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", traces)):
        if url and (urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).hostname):
            raise ConfigError(f"{name}={url!r} must be an http(s) URL (OTLP/HTTP)")
    base = base.rstrip("/")
    if base.endswith("/v1/traces"):
        base = base[: -len("/v1/traces")]
    return base, traces or f"{base}/v1/traces"


def load_settings(
    app_name: str, env: Mapping[str, str] | None = None, **options: Any
) -> TracingSettings:
    """Build the settings: options win over the environment, which wins over defaults.

    Raises ``TypeError`` for an unknown option and :class:`ConfigError` for a bad value.
    """
    unknown = sorted(set(options) - OPTION_NAMES)
    if unknown:
        raise TypeError(
            f"init_tracing() got unknown option(s) {', '.join(unknown)}; "
            f"known: {', '.join(sorted(OPTION_NAMES))}"
        )
    if not isinstance(app_name, str) or not app_name.strip():
        raise ConfigError("app_name must be a non-empty string (the service name)")
    env = os.environ if env is None else env
    endpoint, traces_endpoint = _endpoints(env, options.get("endpoint"))

    # Like the OTLP exporter itself: environment headers, then the option's on top.
    headers = parse_otlp_headers(env.get("OTEL_EXPORTER_OTLP_HEADERS", ""))
    headers.update(parse_otlp_headers(env.get("OTEL_EXPORTER_OTLP_TRACES_HEADERS", "")))
    if options.get("headers") is not None:
        headers.update({str(k): str(v) for k, v in dict(options["headers"]).items()})

    tenants_option = options.get("content_tenants")
    if tenants_option is None:
        tenants = frozenset(_csv(env.get("TRACE_CONTENT_TENANTS")))
    elif isinstance(tenants_option, str):
        tenants = frozenset(_csv(tenants_option))
    else:
        tenants = frozenset(str(tenant) for tenant in tenants_option)

    def int_setting(option: str, variable: str, default: int) -> int:
        if options.get(option) is not None:
            return _positive_int(option, options[option])
        if env.get(variable):
            return _positive_int(variable, env[variable])
        return default

    required = options.get("required_tags")
    if required is None:
        required = _csv(env.get("SOMATRACE_REQUIRED_TAGS")) or REQUIRED_TAGS
    redact_disable = options.get("redact_disable")
    if redact_disable is None:
        redact_disable = _csv(env.get("SOMATRACE_REDACT_DISABLE"))

    instruments = options.get("instruments")
    if instruments is None and env.get("SOMATRACE_INSTRUMENTS"):
        instruments = _csv(env["SOMATRACE_INSTRUMENTS"])
    block = options.get("block_instruments")
    if block is None:
        block = _csv(env.get("SOMATRACE_BLOCK_INSTRUMENTS"))

    return TracingSettings(
        app_name=app_name.strip(),
        endpoint=endpoint,
        traces_endpoint=traces_endpoint,
        headers=headers,
        trace_content=parse_bool(
            "TRACE_CONTENT", options.get("trace_content", env.get("TRACE_CONTENT")), False
        ),
        content_tenants=tenants,
        sample_rate=_sample_rate(env, options.get("sample_rate")),
        disable_batch=parse_bool(
            "SOMATRACE_DISABLE_BATCH",
            options.get("disable_batch", env.get("SOMATRACE_DISABLE_BATCH")),
            False,
        ),
        export_timeout_ms=int_setting(
            "export_timeout_ms", "OTEL_BSP_EXPORT_TIMEOUT", DEFAULT_EXPORT_TIMEOUT_MS
        ),
        max_queue_size=int_setting(
            "max_queue_size", "OTEL_BSP_MAX_QUEUE_SIZE", DEFAULT_MAX_QUEUE_SIZE
        ),
        max_export_batch_size=int_setting(
            "max_export_batch_size", "OTEL_BSP_MAX_EXPORT_BATCH_SIZE", DEFAULT_MAX_EXPORT_BATCH_SIZE
        ),
        schedule_delay_ms=int_setting(
            "schedule_delay_ms", "OTEL_BSP_SCHEDULE_DELAY", DEFAULT_SCHEDULE_DELAY_MS
        ),
        required_tags=tuple(required),
        prices_file=options.get("prices_file") or env.get("SOMATRACE_PRICES_FILE") or None,
        redact_patterns_file=options.get("redact_patterns_file")
        or env.get("SOMATRACE_REDACT_PATTERNS_FILE")
        or None,
        redact_disable=tuple(redact_disable),
        resource_attributes=dict(options.get("resource_attributes") or {}),
        enabled=parse_bool(
            "SOMATRACE_TRACING_ENABLED",
            options.get("enabled", env.get("SOMATRACE_TRACING_ENABLED")),
            True,
        ),
        instruments=None if instruments is None else tuple(str(i).lower() for i in instruments),
        block_instruments=tuple(str(i).lower() for i in block),
    )
