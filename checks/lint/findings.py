"""What a rule reports: a located, coded message, optionally with a fix."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Edit:
    """Replace the text between two 1-based (line, column) positions, end exclusive."""

    line: int
    col: int
    end_line: int
    end_col: int
    replacement: str


@dataclass(frozen=True, slots=True)
class Fix:
    """A fix a finding offers. ``safe`` fixes only do what the policy asks; unsafe ones need
    ``--unsafe-fixes`` because they may change behaviour beyond it."""

    description: str
    edits: tuple[Edit, ...] = ()
    safe: bool = True


@dataclass(frozen=True, slots=True)
class Finding:
    """One rule violation. ``path`` is as the user should see it (relative to the working
    directory when possible, POSIX separators); lines and columns are 1-based."""

    path: str
    line: int
    col: int
    code: str
    message: str
    end_line: int | None = None
    end_col: int | None = None
    fix: Fix | None = None
    # Rule-specific, JSON-able extras (e.g. the entrypoint kind); never holds secrets.
    data: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.col}: {self.code} {self.message}"

    @property
    def sort_key(self) -> tuple[str, int, int, str]:
        return (self.path, self.line, self.col, self.code)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Finding:
        fix_raw = raw.get("fix")
        fix = None
        if fix_raw is not None:
            fix = Fix(
                description=fix_raw["description"],
                edits=tuple(Edit(**e) for e in fix_raw.get("edits", ())),
                safe=fix_raw.get("safe", True),
            )
        return cls(
            path=raw["path"],
            line=raw["line"],
            col=raw["col"],
            code=raw["code"],
            message=raw["message"],
            end_line=raw.get("end_line"),
            end_col=raw.get("end_col"),
            fix=fix,
            data=raw.get("data") or {},
        )

    def with_path(self, path: str) -> Finding:
        return Finding(
            path=path,
            line=self.line,
            col=self.col,
            code=self.code,
            message=self.message,
            end_line=self.end_line,
            end_col=self.end_col,
            fix=self.fix,
            data=self.data,
        )
