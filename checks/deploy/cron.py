"""Cron schedules as Kubernetes CronJobs accept them (robfig/cron standard syntax)."""

from __future__ import annotations

import re

MACROS = frozenset(
    {"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"}
)
_MONTH_NAMES = "JAN FEB MAR APR MAY JUN JUL AUG SEP OCT NOV DEC"
_MONTHS = {m: i for i, m in enumerate(_MONTH_NAMES.split(" "), 1)}
_DAYS = {d: i for i, d in enumerate(["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"])}
# (name, lowest, highest, names)
_FIELDS = (
    ("minute", 0, 59, {}),
    ("hour", 0, 23, {}),
    ("day of month", 1, 31, {}),
    ("month", 1, 12, _MONTHS),
    ("day of week", 0, 7, _DAYS),
)
_PART = re.compile(r"^(?P<range>\*|\?|[A-Za-z0-9]+(?:-[A-Za-z0-9]+)?)(?:/(?P<step>[0-9]+))?$")


def schedule_problem(schedule: str) -> str | None:
    """Why ``schedule`` is not a valid CronJob schedule, or ``None`` when it is."""
    text = schedule.strip()
    if text.startswith("TZ=") or text.startswith("CRON_TZ="):
        return "time zones in the schedule are not allowed; use spec.timeZone"
    if text.startswith("@"):
        return None if text in MACROS else f"unknown macro {text!r}"
    fields = text.split()
    if len(fields) != 5:
        return f"expected 5 fields (minute hour day-of-month month day-of-week), got {len(fields)}"
    for value, (name, low, high, names) in zip(fields, _FIELDS, strict=True):
        for part in value.split(","):
            problem = _part_problem(part, name, low, high, names)
            if problem:
                return problem
    return None


def _part_problem(part: str, name: str, low: int, high: int, names: dict[str, int]) -> str | None:
    match = _PART.match(part)
    if not match:
        return f"{name} field {part!r} is not valid cron syntax"
    if match["step"] is not None and int(match["step"]) == 0:
        return f"{name} field {part!r} has a zero step"
    spec = match["range"]
    if spec in ("*", "?"):
        if spec == "?" and name not in ("day of month", "day of week"):
            return f"'?' is only allowed in day-of-month and day-of-week, not {name}"
        return None
    bounds = spec.split("-")
    numbers: list[int] = []
    for bound in bounds:
        number = _number(bound, names)
        if number is None:
            return f"{name} field {part!r}: {bound!r} is not a number"
        if not low <= number <= high:
            return f"{name} {number} is out of range {low}-{high}"
        numbers.append(number)
    if len(numbers) == 2 and numbers[0] > numbers[1]:
        return f"{name} range {spec!r} runs backwards"
    return None


def _number(text: str, names: dict[str, int]) -> int | None:
    if text.isdigit():
        return int(text)
    return names.get(text.upper())
