"""The platform team's shared start-up helpers."""

from somatrace.tracing import init_tracing


def start_observability(service: str) -> None:
    """Start tracing with the fleet policy; every service may call this instead."""
    init_tracing(service)
