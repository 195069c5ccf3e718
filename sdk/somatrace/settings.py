"""Configuration of the spine, read from the environment and overridden by options.

Pure Python on purpose (no OpenTelemetry import): the lint tool and the docs can use it.
Every variable read here is documented in ``docs/observability/.env.template``.
"""

from __future__ import annotations

import base64
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

from somatrace.policy import (
    COMPRESSION_VAR,
    COMPRESSIONS,
    DEFAULT_COMPRESSION,
    DEFAULT_ENDPOINT,
    DEFAULT_INGESTION_VERSION,
    DEFAULT_SAMPLER,
    DEFAULT_UNPRICED,
    FALSE_VALUES,
    INGESTION_VERSION_HEADER,
    INGESTION_VERSION_VAR,
    LANGFUSE_HOST_VAR,
    LANGFUSE_OTLP_PATH,
    LANGFUSE_PUBLIC_KEY_VAR,
    LANGFUSE_SECRET_KEY_VAR,
    MAX_INGESTION_VERSION,
    OTLP_TRACES_PATH,
    RATIO_SAMPLERS,
    REQUIRED_TAGS,
    TRACES_COMPRESSION_VAR,
    TRUE_VALUES,
    UNPRICED_MODES,
    UNPRICED_VAR,
)

DEFAULT_EXPORT_TIMEOUT_MS = 5_000
DEFAULT_MAX_QUEUE_SIZE = 2_048
DEFAULT_MAX_EXPORT_BATCH_SIZE = 512
DEFAULT_SCHEDULE_DELAY_MS = 1_000
# Memory held by spans waiting for export is capped in bytes too (issue: 100 KB attributes made a
# 2,048-span queue hold ~900 MB): the estimate counts attribute keys and values.
DEFAULT_MAX_QUEUE_BYTES = 32 * 1024 * 1024
# One export request carries at most this many (estimated, uncompressed) bytes. Langfuse logs
# bodies above 16 MB as oversized (traces/index.ts:238-252).
DEFAULT_MAX_EXPORT_BATCH_BYTES = 4 * 1024 * 1024
# Header names whose values are credentials: never shown in a repr or a log line.
SECRET_HEADER_PATTERN = re.compile(r"authorization|cookie|token|secret|key|password", re.I)

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


def masked_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """The headers with every credential value replaced (for reprs, logs and stores)."""
    return {
        name: ("<redacted>" if SECRET_HEADER_PATTERN.search(name) else value)
        for name, value in headers.items()
    }


def js_parse_int(text: str) -> int | None:
    """JavaScript ``parseInt(text, 10)``: leading whitespace, a sign, then digits; else NaN.

    Langfuse parses ``x-langfuse-ingestion-version`` this way (traces/index.ts:272-274), so
    ``"4abc"`` is 4 and ``"v4"`` is NaN (``None`` here).
    """
    match = re.match(r"\s*([+-]?\d+)", text)
    return int(match.group(1)) if match else None


def _ingestion_version(value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    number = js_parse_int(value)
    if number is None or number > MAX_INGESTION_VERSION:
        raise ConfigError(
            f"{INGESTION_VERSION_HEADER}={value!r}: Langfuse rejects a version that is not a "
            f"number or above {MAX_INGESTION_VERSION} with HTTP 400"
        )
    return value.strip()


def _compression(name: str, value: str) -> str:
    text = value.strip().lower() or DEFAULT_COMPRESSION
    if text not in COMPRESSIONS:
        raise ConfigError(
            f"{name}={value!r} is not supported: Langfuse decodes only gzip (a {text} body is "
            f"a 400 and its spans are lost); use one of {', '.join(COMPRESSIONS)}"
        )
    return text


def _csv(value: str | None) -> tuple[str, ...]:
    if not value:
        return ()
    return tuple(item.strip() for item in value.split(",") if item.strip())


@dataclass(frozen=True)
class TracingSettings:
    """Everything ``init_tracing`` decides from the environment and its options."""

    app_name: str
    endpoint: str = DEFAULT_ENDPOINT
    traces_endpoint: str = DEFAULT_ENDPOINT + OTLP_TRACES_PATH
    # Credentials live here: never in the repr (see __repr__).
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)
    compression: str = DEFAULT_COMPRESSION
    certificate_file: str | None = None
    client_certificate_file: str | None = None
    client_key_file: str | None = None
    trace_content: bool = False
    content_tenants: frozenset[str] = frozenset()
    sample_rate: float = 1.0
    disable_batch: bool = False
    export_timeout_ms: int = DEFAULT_EXPORT_TIMEOUT_MS
    max_queue_size: int = DEFAULT_MAX_QUEUE_SIZE
    max_export_batch_size: int = DEFAULT_MAX_EXPORT_BATCH_SIZE
    schedule_delay_ms: int = DEFAULT_SCHEDULE_DELAY_MS
    max_queue_bytes: int = DEFAULT_MAX_QUEUE_BYTES
    max_export_batch_bytes: int = DEFAULT_MAX_EXPORT_BATCH_BYTES
    required_tags: tuple[str, ...] = REQUIRED_TAGS
    prices_file: str | None = None
    unpriced: str = DEFAULT_UNPRICED
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

    def __repr__(self) -> str:
        shown = ", ".join(
            f"{name}={getattr(self, name)!r}"
            for name in self.__dataclass_fields__
            if self.__dataclass_fields__[name].repr
        )
        return f"TracingSettings({shown}, headers={masked_headers(self.headers)!r})"


OPTION_NAMES = frozenset(
    {
        "endpoint",
        "headers",
        "compression",
        "ingestion_version",
        "trace_content",
        "content_tenants",
        "sample_rate",
        "disable_batch",
        "export_timeout_ms",
        "max_queue_size",
        "max_export_batch_size",
        "schedule_delay_ms",
        "max_queue_bytes",
        "max_export_batch_bytes",
        "required_tags",
        "prices_file",
        "unpriced",
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
    """Base and traces URLs: the option, else OTEL_EXPORTER_OTLP_ENDPOINT, else
    ``$LANGFUSE_HOST/api/public/otel``, else our deploy's in-cluster Langfuse."""
    host = (env.get(LANGFUSE_HOST_VAR) or "").strip().rstrip("/")
    from_host = host + LANGFUSE_OTLP_PATH if host else ""
    base = (
        option or env.get("OTEL_EXPORTER_OTLP_ENDPOINT") or from_host or DEFAULT_ENDPOINT
    ).strip()
    traces = (env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or "").strip() if not option else ""
    for name, url in (("endpoint", base), ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", traces)):
        if url and (urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).hostname):
            raise ConfigError(f"{name}={url!r} must be an http(s) URL (OTLP/HTTP)")
    base = base.rstrip("/")
    if base.endswith(OTLP_TRACES_PATH):
        base = base[: -len(OTLP_TRACES_PATH)]
    return base, traces or f"{base}{OTLP_TRACES_PATH}"


def _langfuse_authorization(env: Mapping[str, str]) -> str | None:
    """``Basic base64(public:secret)`` from LANGFUSE_PUBLIC_KEY / LANGFUSE_SECRET_KEY."""
    public = (env.get(LANGFUSE_PUBLIC_KEY_VAR) or "").strip()
    secret = (env.get(LANGFUSE_SECRET_KEY_VAR) or "").strip()
    if not public and not secret:
        return None
    if not public or not secret:
        missing = LANGFUSE_PUBLIC_KEY_VAR if not public else LANGFUSE_SECRET_KEY_VAR
        raise ConfigError(f"{missing} is not set: Langfuse needs both keys (Basic public:secret)")
    if ":" in public:
        raise ConfigError(f"{LANGFUSE_PUBLIC_KEY_VAR} must not contain ':' (Basic auth)")
    token = base64.b64encode(f"{public}:{secret}".encode()).decode("ascii")
    return f"Basic {token}"


def _first(env: Mapping[str, str], *names: str) -> str | None:
    for name in names:
        if env.get(name, "").strip():
            return env[name].strip()
    return None


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
    authorization = _langfuse_authorization(env)
    if authorization and not any(name.lower() == "authorization" for name in headers):
        headers["Authorization"] = authorization
    # x-langfuse-ingestion-version: 4 unless overridden (option, variable, or a header).
    given = {name.lower(): name for name in headers}.get(INGESTION_VERSION_HEADER)
    if options.get("ingestion_version") is not None:
        version = _ingestion_version(str(options["ingestion_version"]))
    elif env.get(INGESTION_VERSION_VAR) is not None:
        version = _ingestion_version(env[INGESTION_VERSION_VAR])
    elif given is not None:
        version = _ingestion_version(headers[given])
    else:
        version = DEFAULT_INGESTION_VERSION
    if given is not None:
        del headers[given]
    if version is not None:
        headers[INGESTION_VERSION_HEADER] = version
    compression = _compression(
        "compression" if options.get("compression") is not None else COMPRESSION_VAR,
        str(
            options.get("compression")
            or env.get(TRACES_COMPRESSION_VAR)
            or env.get(COMPRESSION_VAR)
            or DEFAULT_COMPRESSION
        ),
    )
    unpriced = str(options.get("unpriced") or env.get(UNPRICED_VAR) or DEFAULT_UNPRICED).strip()
    if unpriced not in UNPRICED_MODES:
        raise ConfigError(f"{UNPRICED_VAR}={unpriced!r}: use one of {', '.join(UNPRICED_MODES)}")

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
        compression=compression,
        certificate_file=_first(
            env, "OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE", "OTEL_EXPORTER_OTLP_CERTIFICATE"
        ),
        client_certificate_file=_first(
            env,
            "OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE",
            "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE",
        ),
        client_key_file=_first(
            env, "OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY", "OTEL_EXPORTER_OTLP_CLIENT_KEY"
        ),
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
        max_queue_bytes=int_setting(
            "max_queue_bytes", "SOMATRACE_MAX_QUEUE_BYTES", DEFAULT_MAX_QUEUE_BYTES
        ),
        max_export_batch_bytes=int_setting(
            "max_export_batch_bytes",
            "SOMATRACE_MAX_EXPORT_BATCH_BYTES",
            DEFAULT_MAX_EXPORT_BATCH_BYTES,
        ),
        required_tags=tuple(required),
        prices_file=options.get("prices_file") or env.get("SOMATRACE_PRICES_FILE") or None,
        unpriced=unpriced,
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
