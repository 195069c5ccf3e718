"""The env-var tracing policy (somatrace.checks.policy.environ): every rule, both ways."""

from __future__ import annotations

from decimal import Decimal

import pytest

from somatrace.checks.policy.environ import (
    EnvPolicy,
    EnvVar,
    evaluate_env,
    evaluate_var,
    is_reference,
    is_truthy,
    mask_secret,
)

SECRET = "sk-lf-0a1b2c3d-4e5f-6789-abcd-ef0123456789"
ENDPOINT = {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://langfuse-web.langfuse.svc:3000/api/public/otel"}


def codes(violations: list) -> list[str]:
    return [v.code for v in violations]


@pytest.mark.parametrize("value", ["true", "TRUE", "True", "1", "yes", "On", " on ", '"true"'])
def test_truthy_values(value: str) -> None:
    assert is_truthy(value)


@pytest.mark.parametrize("value", ["false", "0", "no", "off", "", "maybe", None])
def test_falsy_values(value: str | None) -> None:
    assert not is_truthy(value)


@pytest.mark.parametrize(
    "name",
    [
        "TRACE_CONTENT",
        "TRACELOOP_TRACE_CONTENT",
        "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT",
    ],
)
def test_each_content_switch_on_is_st202(name: str) -> None:
    found = evaluate_var(name, "True", line=7)
    assert codes(found) == ["ST202"]
    assert found[0].line == 7 and found[0].name == name
    assert "set it to false" in found[0].message


def test_content_switch_off_or_referenced_is_fine() -> None:
    assert evaluate_var("TRACELOOP_TRACE_CONTENT", "false") == []
    assert evaluate_var("TRACELOOP_TRACE_CONTENT", "${TRACE_CONTENT}") == []
    assert evaluate_var("TRACELOOP_TRACE_CONTENT", None) == []
    assert evaluate_var("SOME_OTHER_FLAG", "true") == []


def test_policy_may_allow_content() -> None:
    assert evaluate_var("TRACE_CONTENT", "1", EnvPolicy(allow_content=True)) == []


def test_literal_langfuse_keys_are_st401_and_masked() -> None:
    found = evaluate_var("LANGFUSE_SECRET_KEY", SECRET)
    assert codes(found) == ["ST401"]
    assert SECRET not in found[0].message and found[0].masked_value is not None
    assert SECRET not in found[0].masked_value
    assert found[0].masked_value.startswith("sk-lf-****")
    assert codes(evaluate_var("LANGFUSE_PUBLIC_KEY", "pk-lf-1234abcd")) == ["ST401"]


@pytest.mark.parametrize("value", ["${LANGFUSE_SECRET_KEY}", "$(LF_SECRET)", None, "changeme"])
def test_key_references_or_non_keys_are_fine(value: str | None) -> None:
    assert evaluate_var("LANGFUSE_SECRET_KEY", value) == []


@pytest.mark.parametrize(
    "headers",
    [
        f"x-langfuse-secret={SECRET}",
        "Authorization=Basic cGstbGYtMTIzOnNrLWxmLTQ1Ng==",
        "Authorization=Basic%20cGstbGYtMTIzOnNrLWxmLTQ1Ng%3D%3D",
        f"x-langfuse-public-key=pk-lf-1,x-langfuse-secret-key={SECRET}",
    ],
)
def test_literal_credentials_in_otlp_headers(headers: str) -> None:
    found = evaluate_var("OTEL_EXPORTER_OTLP_HEADERS", headers)
    assert codes(found) == ["ST401"]
    assert "cGstbGYtMTIzOnNrLWxmLTQ1Ng" not in found[0].message
    assert SECRET not in found[0].message


@pytest.mark.parametrize(
    "headers",
    ["Authorization=Basic ${LANGFUSE_AUTH}", "x-langfuse-secret=$(LF_SECRET)", "x-tenant=acme"],
)
def test_referenced_or_harmless_headers_are_fine(headers: str) -> None:
    assert evaluate_var("OTEL_EXPORTER_OTLP_HEADERS", headers) == []


def test_mask_secret_keeps_only_prefix_and_length() -> None:
    assert mask_secret("sk-lf-abcdef") == "sk-lf-****(12 chars)"
    assert mask_secret("Basic Zm9vOmJhcg==") == "Basic ****(18 chars)"
    assert mask_secret("hunter2") == "****(7 chars)"


@pytest.mark.parametrize("value", ["0.5", "0", "0.999", "abc"])
def test_langfuse_sampling_below_policy_is_st402(value: str) -> None:
    assert codes(evaluate_var("LANGFUSE_SAMPLING_RATE", value)) == ["ST402"]


@pytest.mark.parametrize("value", ["1", "1.0", "${RATE}"])
def test_langfuse_sampling_at_policy_is_fine(value: str) -> None:
    assert evaluate_var("LANGFUSE_SAMPLING_RATE", value) == []


def test_minimum_sampling_rate_is_configurable() -> None:
    assert (
        evaluate_var("LANGFUSE_SAMPLE_RATE", "0.5", EnvPolicy(min_sampling_rate=Decimal("0.25")))
        == []
    )


def test_sampler_arg_counts_with_a_ratio_sampler_or_none() -> None:
    ratio = {
        **ENDPOINT,
        "OTEL_TRACES_SAMPLER": "parentbased_traceidratio",
        "OTEL_TRACES_SAMPLER_ARG": "0.1",
    }
    assert codes(evaluate_env(ratio)) == ["ST402"]
    always_on = {**ENDPOINT, "OTEL_TRACES_SAMPLER": "always_on", "OTEL_TRACES_SAMPLER_ARG": "0.1"}
    assert evaluate_env(always_on) == []
    # No sampler: the spine defaults to parentbased_traceidratio and honours the argument.
    no_sampler = {**ENDPOINT, "OTEL_TRACES_SAMPLER_ARG": "0.1"}
    assert codes(evaluate_env(no_sampler)) == ["ST402"]
    assert evaluate_env({**ENDPOINT, "OTEL_TRACES_SAMPLER_ARG": "1.0"}) == []
    full = {**ENDPOINT, "OTEL_TRACES_SAMPLER": "traceidratio", "OTEL_TRACES_SAMPLER_ARG": "1.0"}
    assert evaluate_env(full) == []


def test_always_off_sampler_is_st402() -> None:
    assert codes(evaluate_env({**ENDPOINT, "OTEL_TRACES_SAMPLER": "always_off"})) == ["ST402"]


def test_missing_endpoint_is_st403_at_given_line() -> None:
    found = evaluate_env([EnvVar("TRACELOOP_TRACE_CONTENT", "false", 3)], where=12)
    assert codes(found) == ["ST403"] and found[0].line == 12
    assert evaluate_env({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://c:4318/v1/traces"}) == []
    # valueFrom: present even though its value is unknown here
    assert evaluate_env([EnvVar("OTEL_EXPORTER_OTLP_ENDPOINT", None)]) == []
    assert codes(evaluate_env({"OTEL_EXPORTER_OTLP_ENDPOINT": "  "})) == ["ST403"]
    assert evaluate_env({}, EnvPolicy(require_endpoint=False)) == []


def test_later_duplicates_win_like_kubernetes() -> None:
    env = [
        EnvVar("TRACELOOP_TRACE_CONTENT", "true", 1),
        EnvVar("TRACELOOP_TRACE_CONTENT", "false", 2),
    ]
    assert evaluate_env([*env, EnvVar("OTEL_EXPORTER_OTLP_ENDPOINT", "http://x")]) == []


def test_from_k8s_entries() -> None:
    assert EnvVar.from_k8s({"name": "A", "value": True}) == EnvVar("A", "true")
    assert EnvVar.from_k8s({"name": "A", "value": 0.5}, line=4) == EnvVar("A", "0.5", 4)
    ref = {"name": "LANGFUSE_SECRET_KEY", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}}
    assert EnvVar.from_k8s(ref) == EnvVar("LANGFUSE_SECRET_KEY", None)
    assert EnvVar.from_k8s({"name": "EMPTY"}) == EnvVar("EMPTY", "")


def test_reference_detection() -> None:
    assert is_reference("${A}") and is_reference("$(A)") and is_reference("{{ .Values.x }}")
    assert is_reference(None)
    assert not is_reference("sk-lf-abc")
