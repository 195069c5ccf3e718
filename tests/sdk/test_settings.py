"""init_tracing's configuration: environment, options, documented defaults, clear errors."""

from __future__ import annotations

import pytest

from somatrace.settings import (
    DEFAULT_ENDPOINT,
    REQUIRED_TAGS,
    ConfigError,
    load_settings,
    parse_otlp_headers,
)


def test_defaults_with_an_empty_environment() -> None:
    settings = load_settings("svc", env={})
    assert settings.endpoint == DEFAULT_ENDPOINT
    assert DEFAULT_ENDPOINT == "http://langfuse-web.langfuse.svc.cluster.local:3000/api/public/otel"
    assert settings.traces_endpoint == DEFAULT_ENDPOINT + "/v1/traces"
    assert settings.trace_content is False
    assert settings.content_tenants == frozenset()
    assert settings.captures_content is False
    assert settings.sample_rate == 1.0
    assert settings.disable_batch is False
    assert settings.required_tags == REQUIRED_TAGS == ("tenant_id", "workflow_name", "agent_id")
    assert settings.export_timeout_ms == 5000 and settings.max_queue_size == 2048
    assert settings.compression == "none"
    assert settings.headers == {"x-langfuse-ingestion-version": "4"}
    assert settings.unpriced == "zero-with-flag"


def test_headers_follow_the_otel_spec_including_percent_encoding() -> None:
    headers = parse_otlp_headers(
        " Authorization = Basic%20cGstbGYtMTpzay1sZi0y ,x-langfuse-ingestion-version=4,"
        "x-empty=,x-comma=a%2Cb"
    )
    assert headers == {
        "Authorization": "Basic cGstbGYtMTpzay1sZi0y",
        "x-langfuse-ingestion-version": "4",
        "x-empty": "",
        "x-comma": "a,b",
    }
    assert parse_otlp_headers("") == {}
    with pytest.raises(ConfigError, match="entry 2") as error:
        parse_otlp_headers("a=1,secretvalue-without-equals")
    assert "secretvalue" not in str(error.value)


def test_environment_then_options_win() -> None:
    env = {
        "OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318/",
        "OTEL_EXPORTER_OTLP_HEADERS": "a=1",
        "OTEL_EXPORTER_OTLP_TRACES_HEADERS": "b=2",
        "TRACE_CONTENT": "false",
        "TRACE_CONTENT_TENANTS": "acme, globex ,",
        "OTEL_BSP_MAX_QUEUE_SIZE": "100",
        "SOMATRACE_DISABLE_BATCH": "true",
    }
    settings = load_settings("svc", env=env)
    assert settings.endpoint == "http://collector:4318"
    assert settings.traces_endpoint == "http://collector:4318/v1/traces"
    assert settings.headers == {"a": "1", "b": "2", "x-langfuse-ingestion-version": "4"}
    assert settings.content_tenants == frozenset({"acme", "globex"})
    assert settings.captures_content is True
    assert settings.max_queue_size == 100 and settings.disable_batch is True

    overridden = load_settings(
        "svc",
        env=env,
        endpoint="https://other:4318/v1/traces",
        headers={"x": "y"},
        content_tenants=["initech"],
        disable_batch=False,
        max_queue_size=7,
    )
    assert overridden.endpoint == "https://other:4318"
    assert overridden.traces_endpoint == "https://other:4318/v1/traces"
    assert overridden.headers == {"a": "1", "b": "2", "x": "y", "x-langfuse-ingestion-version": "4"}
    assert overridden.content_tenants == frozenset({"initech"})
    assert overridden.disable_batch is False and overridden.max_queue_size == 7


def test_signal_specific_traces_endpoint_is_used_as_is() -> None:
    settings = load_settings(
        "svc",
        env={"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://lf:3000/api/public/otel/v1/traces"},
    )
    assert settings.traces_endpoint == "http://lf:3000/api/public/otel/v1/traces"


@pytest.mark.parametrize(
    ("env", "options", "rate"),
    [
        ({"OTEL_TRACES_SAMPLER_ARG": "0.25"}, {}, 0.25),
        ({"OTEL_TRACES_SAMPLER": "traceidratio", "OTEL_TRACES_SAMPLER_ARG": "0.5"}, {}, 0.5),
        ({"OTEL_TRACES_SAMPLER": "always_on", "OTEL_TRACES_SAMPLER_ARG": "0.5"}, {}, 1.0),
        ({"LANGFUSE_SAMPLING_RATE": "0.1"}, {}, 0.1),
        ({"OTEL_TRACES_SAMPLER_ARG": "0.25"}, {"sample_rate": 0.75}, 0.75),
    ],
)
def test_sampling_rate_sources(env: dict[str, str], options: dict, rate: float) -> None:
    assert load_settings("svc", env=env, **options).sample_rate == rate


@pytest.mark.parametrize(
    ("env", "options", "message"),
    [
        ({"TRACE_CONTENT": "maybe"}, {}, "TRACE_CONTENT='maybe' is not a boolean"),
        ({}, {"sample_rate": 1.5}, "between 0 and 1"),
        ({"OTEL_TRACES_SAMPLER_ARG": "half"}, {}, "OTEL_TRACES_SAMPLER_ARG='half' is not a number"),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "grpc://x:4317"}, {}, "must be an http"),
        ({"OTEL_BSP_MAX_QUEUE_SIZE": "0"}, {}, "must be positive"),
    ],
)
def test_bad_values_name_the_setting(env: dict[str, str], options: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_settings("svc", env=env, **options)


def test_unknown_option_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="trace_contnet"):
        load_settings("svc", env={}, trace_contnet=True)
    with pytest.raises(ConfigError, match="app_name"):
        load_settings("  ", env={})


def test_langfuse_host_and_keys_configure_endpoint_and_basic_auth() -> None:
    env = {
        "LANGFUSE_HOST": "https://langfuse.example.org/",
        "LANGFUSE_PUBLIC_KEY": "pk-lf-1",
        "LANGFUSE_SECRET_KEY": "sk-lf-2",
    }
    settings = load_settings("svc", env=env)
    assert settings.traces_endpoint == "https://langfuse.example.org/api/public/otel/v1/traces"
    assert settings.headers["Authorization"] == "Basic cGstbGYtMTpzay1sZi0y"  # pk-lf-1:sk-lf-2
    # an explicit OTLP endpoint or Authorization header wins
    explicit = load_settings(
        "svc",
        env={
            **env,
            "OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318",
            "OTEL_EXPORTER_OTLP_HEADERS": "Authorization=Bearer%20x",
        },
    )
    assert explicit.traces_endpoint == "http://collector:4318/v1/traces"
    assert explicit.headers["Authorization"] == "Bearer x"
    with pytest.raises(ConfigError, match="LANGFUSE_SECRET_KEY is not set"):
        load_settings("svc", env={"LANGFUSE_PUBLIC_KEY": "pk"})


@pytest.mark.parametrize("value", ["deflate", "br", "zstd"])
def test_only_gzip_or_none_compression_is_accepted(value: str) -> None:
    with pytest.raises(ConfigError, match="Langfuse decodes only gzip"):
        load_settings("svc", env={"OTEL_EXPORTER_OTLP_COMPRESSION": value})
    with pytest.raises(ConfigError, match="use one of none, gzip"):
        load_settings("svc", env={}, compression=value)
    assert (
        load_settings("svc", env={"OTEL_EXPORTER_OTLP_COMPRESSION": "GZIP"}).compression == "gzip"
    )


@pytest.mark.parametrize(
    ("value", "sent"),
    [("4", "4"), ("3", "3"), (" 2", "2"), ("4abc", "4abc"), ("", None)],
)
def test_ingestion_version_header_is_overridable(value: str, sent: str | None) -> None:
    settings = load_settings("svc", env={"SOMATRACE_LANGFUSE_INGESTION_VERSION": value})
    assert settings.headers.get("x-langfuse-ingestion-version") == sent


@pytest.mark.parametrize("value", ["5", "v4", "four", "10"])
def test_ingestion_version_above_4_or_not_a_number_is_refused_like_the_server(value: str) -> None:
    with pytest.raises(ConfigError, match="Langfuse rejects"):
        load_settings("svc", env={}, ingestion_version=value)
    with pytest.raises(ConfigError, match="Langfuse rejects"):
        load_settings(
            "svc", env={"OTEL_EXPORTER_OTLP_HEADERS": f"x-langfuse-ingestion-version={value}"}
        )


def test_unpriced_mode_is_validated() -> None:
    assert load_settings("svc", env={"SOMATRACE_UNPRICED": "leave-to-langfuse"}).unpriced == (
        "leave-to-langfuse"
    )
    with pytest.raises(ConfigError, match="zero-with-flag"):
        load_settings("svc", env={"SOMATRACE_UNPRICED": "guess"})


def test_credentials_never_appear_in_the_settings_repr() -> None:
    settings = load_settings(
        "svc",
        env={
            "LANGFUSE_PUBLIC_KEY": "pk-lf-visible",
            "LANGFUSE_SECRET_KEY": "sk-lf-SECRET-0001",
            "OTEL_EXPORTER_OTLP_HEADERS": "x-api-key=SECRET-0002,x-tenant=acme",
        },
    )
    text = repr(settings)
    assert "SECRET" not in text and "sk-lf" not in text
    assert "'Authorization': '<redacted>'" in text and "'x-tenant': 'acme'" in text
