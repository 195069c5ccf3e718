"""The Alertmanager routing: every alert to the notification service's Alertmanager webhook,
critical ones to its paging endpoint; grouped per alert and service; a failed nightly run
inhibits the score-regression alerts of the same service.

Configuration format: prometheus/alertmanager v0.25.0 (what Debian ships), ``docs/
configuration.md``: ``<route>`` with ``matchers``, ``group_by``, ``group_wait`` (line 181),
``group_interval``, ``repeat_interval``; ``<inhibit_rule>`` (lines 346-393: ``target_matchers``,
``source_matchers``, ``equal``); ``<webhook_config>`` (line 1026, ``send_resolved``) and the
JSON it POSTs (``"version": "4"``, line 1052, with ``alerts[]``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from somatrace.checks.monitoring import alert_rules

NOTIFICATION_SERVICE = "http://notification-service.platform.svc:8080/v1/alertmanager"
RECEIVER = "notification-service"
PAGING_RECEIVER = "notification-service-page"


@dataclass(frozen=True)
class Timing:
    group_wait: str = "30s"
    group_interval: str = "5m"
    repeat_interval: str = "4h"
    raget_repeat_interval: str = "12h"  # the textfile changes once a night
    page_repeat_interval: str = "1h"


PRODUCTION = Timing()


def config(webhook_base: str = NOTIFICATION_SERVICE, timing: Timing = PRODUCTION) -> dict[str, Any]:
    """The Alertmanager configuration; the end-to-end test passes its receiver and short
    timings, everything else is what ships."""
    group_by = ["alertname", "service"]
    return {
        "route": {
            "receiver": RECEIVER,
            "group_by": group_by,
            "group_wait": timing.group_wait,
            "group_interval": timing.group_interval,
            "repeat_interval": timing.repeat_interval,
            "routes": [
                {
                    "receiver": PAGING_RECEIVER,
                    "matchers": ['severity="critical"'],
                    "repeat_interval": timing.page_repeat_interval,
                },
                {
                    "receiver": RECEIVER,
                    "matchers": [f'component="{alert_rules.COMPONENT_RAGET}"'],
                    "repeat_interval": timing.raget_repeat_interval,
                },
                {
                    "receiver": RECEIVER,
                    "matchers": [f'component="{alert_rules.COMPONENT_SPINE}"'],
                },
            ],
        },
        "inhibit_rules": [
            {
                "source_matchers": [f'alertname="{alert_rules.RAGET_RUN_FAILED.alert}"'],
                "target_matchers": [f'alertname="{alert_rules.RAGET_SCORE_REGRESSION.alert}"'],
                "equal": ["service"],
            }
        ],
        "receivers": [
            {
                "name": RECEIVER,
                "webhook_configs": [{"url": webhook_base, "send_resolved": True}],
            },
            {
                "name": PAGING_RECEIVER,
                "webhook_configs": [
                    {"url": webhook_base.rstrip("/") + "/page", "send_resolved": True}
                ],
            },
        ],
    }
