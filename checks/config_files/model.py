"""What the config-file scanners produce: environment variables with exact source locations.

Positions are 1-based; columns count characters (code points) on lines split at ``\\n`` only,
which is how ``somatrace fix`` applies edits; end positions are exclusive.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from enum import StrEnum


class ConfigFormat(StrEnum):
    DOTENV = "dotenv"
    DOCKERFILE = "dockerfile"
    WORKFLOW = "github-workflow"
    COMPOSE = "docker-compose"
    KUBERNETES = "kubernetes"
    HELM_VALUES = "helm-values"
    HELM_TEMPLATE = "helm-template"
    YAML = "yaml"


@dataclass(frozen=True, slots=True)
class Span:
    line: int
    col: int
    end_line: int
    end_col: int


@dataclass(frozen=True, slots=True)
class LocatedVar:
    """One environment variable (or one header) as a config file spells it.

    ``value`` is what the process would see, or ``None`` when it comes from elsewhere
    (``valueFrom``, a bare compose ``- NAME``). ``value_span`` covers the value as written
    (quotes included); ``token_span`` covers the bare value text, without quotes or blanks, and
    is only set when the source spells it verbatim (so an in-place edit there is exact).
    """

    name: str
    value: str | None
    name_span: Span
    value_span: Span | None = None
    token_span: Span | None = None
    where: str = ""

    @property
    def location(self) -> Span:
        return self.value_span or self.name_span


@dataclass(frozen=True, slots=True)
class EnvGroup:
    """The environment of one process as far as this file declares it (a container, a compose
    service, a workflow step with its job's and workflow's env, a Dockerfile stage, a .env file).
    Later entries win over earlier ones, as in Kubernetes."""

    where: str
    variables: tuple[LocatedVar, ...]


@dataclass(frozen=True, slots=True)
class ScanProblem:
    """Why (part of) a file could not be read structurally; reported as ST900."""

    line: int
    col: int
    reason: str


@dataclass(frozen=True)
class ConfigScan:
    format: ConfigFormat
    groups: tuple[EnvGroup, ...] = ()
    # Literal OTLP exporter headers (e.g. an OpenTelemetry Collector's ``headers:`` map).
    headers: tuple[LocatedVar, ...] = ()
    problems: tuple[ScanProblem, ...] = ()
    line_scanned: bool = False  # structure unknown (Helm template, invalid YAML): line scan


class TextIndex:
    """Converts character offsets of a text into 1-based (line, column) positions."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.starts = [0]
        index = text.find("\n")
        while index != -1:
            self.starts.append(index + 1)
            index = text.find("\n", index + 1)

    def position(self, offset: int) -> tuple[int, int]:
        line = bisect_right(self.starts, offset) - 1
        return line + 1, offset - self.starts[line] + 1

    def offset(self, line: int, col: int) -> int:
        """Offset of a 1-based (line, col)."""
        return self.starts[line - 1] + col - 1

    def span(self, start: int, end: int) -> Span:
        line, col = self.position(start)
        end_line, end_col = self.position(end)
        return Span(line, col, end_line, end_col)

    def token_span(self, start: int, raw: str) -> Span | None:
        """The span of ``raw``'s bare value (blanks and one level of quotes stripped), given
        that ``raw`` is the exact source text at ``start``; ``None`` if it is not."""
        if not raw or self.text[start : start + len(raw)] != raw or "\n" in raw:
            return None
        token = raw.strip().strip("'\"").strip()
        if not token:
            return None
        at = start + raw.find(token)
        return self.span(at, at + len(token))
