"""The digest from the spine's counters in Prometheus, exactly.

``increase()`` extrapolates to the window's edges and returns a float: not a FinOps figure.
Instead the raw samples of every counter series in the day (plus a lookback for the sample
before it) are read with one instant query of a range selector, and the increase of each series
is computed here in integers: the sum of its positive steps, a drop being a counter reset (a
restarted process) that counts from zero. The cost counter holds whole nano-units
(``somatrace.metric_names.LLM_COST``), integers exact in float64, so the daily total is exact
to 1e-9 per series (exact, when every price is a whole number of nano-units per token, as every
shipped one is). Costs recorded after a process's last scrape are missing (set
``SOMATRACE_METRICS_FINAL_SCRAPE_TIMEOUT`` for short-lived jobs).
"""

from __future__ import annotations

import datetime as dt
import json
import urllib.parse
import urllib.request
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from somatrace import metric_names as names
from somatrace.checks.digest.model import Digest

LOOKBACK = dt.timedelta(hours=6)  # to find each series' last sample before the day


class PrometheusError(RuntimeError):
    pass


def digest_from_prometheus(
    url: str, start: dt.datetime, end: dt.datetime, *, timeout: float = 30.0
) -> Digest:
    digest = Digest(start, end, "prometheus")
    for labels, increase in series_increases(url, names.LLM_COST.series, start, end, timeout):
        tenant = digest.tenant(labels.get(names.TENANT_ID, ""))
        amount = Decimal(increase) / Decimal(names.NANO_UNITS_PER_UNIT)
        tenant.add_cost(
            labels.get(names.WORKFLOW_NAME, ""),
            labels.get(names.MODEL, ""),
            labels.get(names.CURRENCY, "USD"),
            amount,
        )
    for labels, increase in series_increases(url, names.LLM_CALLS.series, start, end, timeout):
        digest.tenant(labels.get(names.TENANT_ID, "")).calls += increase
    for labels, increase in series_increases(url, names.LLM_TOKENS.series, start, end, timeout):
        tenant = digest.tenant(labels.get(names.TENANT_ID, ""))
        if labels.get(names.TOKEN_TYPE) == names.TOKEN_INPUT:
            tenant.input_tokens += increase
        else:
            tenant.output_tokens += increase
    for labels, increase in series_increases(url, names.LLM_UNPRICED.series, start, end, timeout):
        digest.tenant(labels.get(names.TENANT_ID, "")).unpriced_calls += increase
    return digest


def series_increases(
    url: str, series: str, start: dt.datetime, end: dt.datetime, timeout: float
) -> Iterator[tuple[dict[str, str], int]]:
    """(labels, exact integer increase within (start, end]) of every series of ``series``."""
    seconds = int((end - start + LOOKBACK).total_seconds())
    for result in _query(url, f"{series}[{seconds}s]", end.timestamp(), timeout):
        samples = [(float(t), int(Decimal(v))) for t, v in result.get("values", [])]
        increase = exact_increase(samples, start.timestamp())
        if increase:
            yield dict(result["metric"]), increase


def exact_increase(samples: list[tuple[float, int]], start: float) -> int:
    """Increase of a counter after ``start`` from its raw samples (time-ordered)."""
    total = 0
    previous: int | None = None
    for moment, value in samples:
        if moment <= start:
            previous = value
            continue
        if previous is None or value < previous:  # created in the window, or reset
            total += value
        else:
            total += value - previous
        previous = value
    return total


def _query(url: str, expr: str, at: float, timeout: float) -> list[dict[str, Any]]:
    params = urllib.parse.urlencode({"query": expr, "time": f"{at:.3f}"})
    target = f"{url.rstrip('/')}/api/v1/query?{params}"
    try:
        with urllib.request.urlopen(target, timeout=timeout) as response:
            body = json.load(response)
    except (OSError, ValueError) as error:
        raise PrometheusError(f"Prometheus at {url}: {error}") from error
    if body.get("status") != "success":
        raise PrometheusError(f"Prometheus at {url}: {body.get('error', body)}")
    return list(body["data"]["result"])
