"""How the project model knows third-party APIs: a table per library family, merged once.

Each table says what calling an external callable returns, what an external class's instances
are, which attributes of a known kind are methods, what calling such a method returns, and what
``with <kind> as x`` binds. Kinds are strings (``otel.tracer``, ``app:FastAPI``); the tables
that fill this live next to the analyses that need them (:mod:`.otel`, :mod:`.frameworks`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class ApiTable:
    calls: Mapping[str, str] = field(default_factory=dict)  # callable -> kind of its result
    types: Mapping[str, str] = field(default_factory=dict)  # class -> kind of its instances
    methods: Mapping[tuple[str, str], str] = field(default_factory=dict)  # (kind, attr) -> kind
    results: Mapping[str, str] = field(default_factory=dict)  # method kind -> result kind
    enters: Mapping[str, str] = field(default_factory=dict)  # kind -> what `with` binds

    @staticmethod
    def merge(tables: Iterable[ApiTable]) -> ApiTable:
        calls: dict[str, str] = {}
        types: dict[str, str] = {}
        methods: dict[tuple[str, str], str] = {}
        results: dict[str, str] = {}
        enters: dict[str, str] = {}
        for table in tables:
            calls.update(table.calls)
            types.update(table.types)
            methods.update(table.methods)
            results.update(table.results)
            enters.update(table.enters)
        return ApiTable(calls, types, methods, results, enters)

    def known(self, name: str) -> bool:
        return name in self.calls or name in self.types
