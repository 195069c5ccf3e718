"""POST a JSON document to a webhook: the one HTTP client the alert and digest deliveries share."""

from __future__ import annotations

import json
import urllib.error
import urllib.request


class WebhookError(RuntimeError):
    """The webhook answered with an HTTP error or could not be reached."""


def post_json(url: str, payload: object, *, timeout: float, what: str) -> int:
    """POST ``payload`` as JSON; returns the HTTP status. ``what`` names the webhook in errors
    (``"alert webhook"``, ``"digest webhook"``)."""
    body = json.dumps(payload).encode()
    request = urllib.request.Request(
        url, data=body, method="POST", headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        raise WebhookError(f"{what} {url} answered HTTP {error.code}") from error
    except OSError as error:
        raise WebhookError(f"{what} {url} unreachable: {error}") from error
