"""Delivery of the digest: the notification service's webhook (template
``observability-cost-digest`` with the digest as JSON) or an e-mail over SMTP."""

from __future__ import annotations

import json
import smtplib
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import EmailMessage

from somatrace.checks.digest.model import TEMPLATE, Digest
from somatrace.checks.digest.render import subject, text_body
from somatrace.checks.runtime.webhook import WebhookError, post_json

__all__ = ["DeliveryError", "post_webhook", "send_email", "text_body", "webhook_payload"]


class DeliveryError(RuntimeError):
    pass


def webhook_payload(digest: Digest, recipients: Sequence[str] = ()) -> dict[str, object]:
    return {
        "template": TEMPLATE,
        "recipients": list(recipients),
        "subject": subject(digest),
        "data": digest.to_dict(),
    }


def post_webhook(
    url: str, digest: Digest, recipients: Sequence[str] = (), timeout: float = 30.0
) -> int:
    try:
        return post_json(
            url, webhook_payload(digest, recipients), timeout=timeout, what="digest webhook"
        )
    except WebhookError as error:
        raise DeliveryError(str(error)) from error


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int = 25
    sender: str = "somatrace@localhost"
    starttls: bool = False
    username: str = ""
    password: str = ""
    timeout: float = 30.0


def send_email(settings: SmtpSettings, digest: Digest, recipients: Sequence[str]) -> None:
    """A text e-mail with the digest's JSON attached (the same document as the webhook's)."""
    if not recipients:
        raise DeliveryError("an e-mail digest needs at least one --mail-to recipient")
    message = EmailMessage()
    message["Subject"] = subject(digest)
    message["From"] = settings.sender
    message["To"] = ", ".join(recipients)
    message["X-Somatrace-Template"] = TEMPLATE
    message.set_content(text_body(digest))
    document = json.dumps(webhook_payload(digest, recipients), indent=2).encode()
    message.add_attachment(
        document, maintype="application", subtype="json", filename=f"cost-digest-{digest.day}.json"
    )
    try:
        with smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout) as smtp:
            if settings.starttls:
                smtp.starttls()
            if settings.username:
                smtp.login(settings.username, settings.password)
            smtp.send_message(message)
    except (OSError, smtplib.SMTPException) as error:
        raise DeliveryError(f"SMTP {settings.host}:{settings.port}: {error}") from error
