"""What a rule reports: a located, coded message, optionally with a fix."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
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


def _plain(value: Any) -> Any:
    """A deep copy of JSON-like data, as :func:`dataclasses.asdict` copies a field's value."""
    kind = type(value)
    if kind is dict:
        return {_plain(k): _plain(v) for k, v in value.items()}
    if kind is list:
        return [_plain(v) for v in value]
    if kind is tuple:
        return tuple(_plain(v) for v in value)
    if kind in (str, int, float, bool) or value is None:
        return value
    return copy.deepcopy(value)


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
        """What :func:`dataclasses.asdict` gives (``data`` copied deeply), written out: asdict
        recurses through every field generically, and a run converts every finding and
        deferred question: about 2,000 on llm-stack, 0.06 s of the workers' CPU)."""
        fix = self.fix
        return {
            "path": self.path,
            "line": self.line,
            "col": self.col,
            "code": self.code,
            "message": self.message,
            "end_line": self.end_line,
            "end_col": self.end_col,
            "fix": None
            if fix is None
            else {
                "description": fix.description,
                "edits": tuple(
                    {
                        "line": e.line,
                        "col": e.col,
                        "end_line": e.end_line,
                        "end_col": e.end_col,
                        "replacement": e.replacement,
                    }
                    for e in fix.edits
                ),
                "safe": fix.safe,
            },
            "data": _plain(self.data),
        }

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
