"""Scrub personal data and secrets out of prompt/completion text before it is exported.

Used only for tenants that opted in to content capture (``TRACE_CONTENT_TENANTS``); for
everyone else content is not captured at all. Each rule replaces what it finds with
``[REDACTED:<rule>]``. Rules with a checksum (card numbers: Luhn; IBANs: ISO 13616
mod-97) only redact candidates that pass it, which keeps order numbers and other long
digit runs in ordinary text intact.

Configure with ``SOMATRACE_REDACT_PATTERNS_FILE`` (a JSON or YAML mapping of rule name
to regular expression, added after the built-in rules) and ``SOMATRACE_REDACT_DISABLE``
(comma-separated built-in rule names to switch off), or build a :class:`Redactor`.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

Validator = Callable[[str], bool]


def luhn_valid(candidate: str) -> bool:
    digits = [int(ch) for ch in candidate if ch.isdigit()]
    if not 13 <= len(digits) <= 19 or len(set(digits)) == 1:
        return False
    total = 0
    for index, digit in enumerate(reversed(digits)):
        if index % 2 == 1:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return total % 10 == 0


def iban_valid(candidate: str) -> bool:
    compact = re.sub(r"\s", "", candidate).upper()
    if not 15 <= len(compact) <= 34:
        return False
    rearranged = compact[4:] + compact[:4]
    try:
        number = int("".join(str(int(ch, 36)) for ch in rearranged))
    except ValueError:
        return False
    return number % 97 == 1


@dataclass(frozen=True)
class Rule:
    """One kind of sensitive data: a pattern, an optional checksum, the group to replace."""

    name: str
    pattern: re.Pattern[str]
    validator: Validator | None = None
    group: int | str = 0

    @classmethod
    def compile(
        cls, name: str, pattern: str, validator: Validator | None = None, group: int | str = 0
    ) -> Rule:
        try:
            return cls(name, re.compile(pattern), validator, group)
        except re.error as error:
            raise ValueError(f"redaction rule {name!r}: invalid regex: {error}") from None


def default_rules() -> list[Rule]:
    """The built-in rules, in the order they run (secrets first: they can contain digits)."""
    return [
        Rule.compile("bearer_token", r"(?i)\bbearer\s+([A-Za-z0-9\-._~+/]{8,}=*)", group=1),
        Rule.compile("jwt", r"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"),
        Rule.compile(
            "api_key",
            r"\b(?:sk-(?:proj-|ant-(?:api\d\d-)?|lf-|svcacct-)?[A-Za-z0-9_-]{16,}"
            r"|pk-lf-[A-Za-z0-9-]{16,}"
            r"|(?:AKIA|ASIA)[0-9A-Z]{16}"
            r"|gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,}"
            r"|xox[abprs]-[A-Za-z0-9-]{10,}"
            r"|AIza[0-9A-Za-z_-]{35}"
            r"|glpat-[A-Za-z0-9_-]{20,})",
        ),
        Rule.compile(
            "secret_assignment",
            r"(?i)\b(?:api[_-]?key|secret|access[_-]?token|auth[_-]?token|password|passwd)"
            r"\b[\"']?\s*[:=]\s*[\"']?([^\s\"',;]{6,})",
            group=1,
        ),
        Rule.compile(
            "email",
            r"(?<![\w.+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
            r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*\.[A-Za-z]{2,}\b",
        ),
        Rule.compile("iban", r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}\b", validator=iban_valid),
        Rule.compile(
            "card_number", r"(?<![\d-])\d(?:[ -]?\d){12,18}(?![\d-])", validator=luhn_valid
        ),
        Rule.compile(
            "us_ssn", r"(?<![\d-])(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}(?![\d-])"
        ),
        Rule.compile(
            "uk_nino",
            r"\b(?!BG|GB|NK|KN|TN|NT|ZZ)[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z]"
            r" ?\d{2} ?\d{2} ?\d{2} ?[A-D]\b",
        ),
        Rule.compile(
            "phone",
            # International (+CC ...) with at least 8 digits, or North American (NPA) NXX-XXXX.
            r"(?<![\w+])\+\d{1,3}(?:[ .-]?\(?\d{1,4}\)?){2,5}(?![\w])"
            r"|(?<![\w.-])\(?[2-9]\d{2}\)?[ .-]\d{3}[ .-]\d{4}(?![\w.-])",
            validator=lambda text: sum(ch.isdigit() for ch in text) >= 8,
        ),
    ]


class Redactor:
    """Applies rules to text and counts what it redacted, per rule."""

    def __init__(self, rules: Iterable[Rule] | None = None) -> None:
        self.rules = list(default_rules() if rules is None else rules)
        self._lock = threading.Lock()
        self._counts: dict[str, int] = {}

    @classmethod
    def from_config(
        cls,
        patterns_file: str | Path | None = None,
        disable: Iterable[str] = (),
        extra: Mapping[str, str] | None = None,
    ) -> Redactor:
        disabled = set(disable)
        builtin = default_rules()
        unknown = disabled - {rule.name for rule in builtin}
        if unknown:
            raise ValueError(f"SOMATRACE_REDACT_DISABLE names unknown rule(s): {sorted(unknown)}")
        rules = [rule for rule in builtin if rule.name not in disabled]
        patterns: dict[str, str] = {}
        if patterns_file:
            patterns.update(_load_patterns(Path(patterns_file)))
        patterns.update(extra or {})
        rules.extend(Rule.compile(name, pattern) for name, pattern in patterns.items())
        return cls(rules)

    def redact(self, text: str) -> str:
        """``text`` with every match of every rule replaced by ``[REDACTED:<rule>]``."""
        for rule in self.rules:
            text = self._apply(rule, text)
        return text

    def _apply(self, rule: Rule, text: str) -> str:
        hits = 0

        def replace(match: re.Match[str]) -> str:
            nonlocal hits
            if rule.validator is not None and not rule.validator(match.group(0)):
                return match.group(0)
            hits += 1
            if rule.group == 0:
                return f"[REDACTED:{rule.name}]"
            start, end = match.span(rule.group)
            offset = match.start()
            whole = match.group(0)
            return whole[: start - offset] + f"[REDACTED:{rule.name}]" + whole[end - offset :]

        result = rule.pattern.sub(replace, text)
        if hits:
            with self._lock:
                self._counts[rule.name] = self._counts.get(rule.name, 0) + hits
        return result

    def findings(self, text: str) -> list[tuple[str, str]]:
        """(rule, matched text) pairs the redactor would replace; for audits and tests."""
        found: list[tuple[str, str]] = []
        for rule in self.rules:
            for match in rule.pattern.finditer(text):
                if rule.validator is None or rule.validator(match.group(0)):
                    found.append((rule.name, match.group(rule.group)))
        return found

    def counts(self) -> dict[str, int]:
        with self._lock:
            return dict(self._counts)


def _load_patterns(path: Path) -> dict[str, str]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ValueError(f"cannot read the redaction patterns file {path}: {error}") from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError:
        import yaml

        document = yaml.safe_load(text)
    if not isinstance(document, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in document.items()
    ):
        raise ValueError(f"{path} must map rule names to regular expressions")
    return dict(document)
