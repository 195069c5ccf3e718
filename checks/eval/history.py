"""The history of evaluation runs: one SQLite file, one row per run, one row per score.

Runs are compared only with earlier runs of the same service on the same testset, so a
regenerated testset starts a new baseline instead of raising a false alarm.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Mapping
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

STATUS_OK = "ok"
STATUS_REGRESSION = "regression"
STATUS_ERROR = "error"

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT NOT NULL UNIQUE,
    service TEXT NOT NULL,
    testset_id TEXT NOT NULL,
    started_at TEXT NOT NULL,
    finished_at TEXT NOT NULL,
    status TEXT NOT NULL,
    num_questions INTEGER NOT NULL,
    report_dir TEXT NOT NULL DEFAULT '',
    message TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS runs_by_service ON runs (service, testset_id, id);
CREATE TABLE IF NOT EXISTS scores (
    run INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    metric TEXT NOT NULL,
    value REAL NOT NULL,
    PRIMARY KEY (run, metric)
);
"""


@dataclass(frozen=True)
class RunRecord:
    run_id: str
    service: str
    testset_id: str
    started_at: datetime
    finished_at: datetime
    status: str
    num_questions: int
    scores: Mapping[str, float]
    report_dir: str = ""
    message: str = ""


class History:
    """Append-only store of runs; reads give trends and baselines."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.executescript(SCHEMA)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        with closing(sqlite3.connect(self.path, timeout=30)) as db:
            db.execute("PRAGMA foreign_keys = ON")
            with db:  # one transaction
                yield db

    def append(self, run: RunRecord) -> None:
        with self._connect() as db:
            cursor = db.execute(
                "INSERT INTO runs (run_id, service, testset_id, started_at, finished_at, status,"
                " num_questions, report_dir, message) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    run.run_id, run.service, run.testset_id,
                    _iso(run.started_at), _iso(run.finished_at), run.status,
                    run.num_questions, run.report_dir, run.message,
                ),
            )  # fmt: skip
            db.executemany(
                "INSERT INTO scores (run, metric, value) VALUES (?, ?, ?)",
                [(cursor.lastrowid, metric, float(value)) for metric, value in run.scores.items()],
            )

    def runs(
        self,
        service: str | None = None,
        *,
        testset_id: str | None = None,
        status: str | None = None,
        limit: int | None = None,
    ) -> list[RunRecord]:
        """Runs, newest first, filtered by service, testset and status."""
        where, params = [], []
        for column, value in (("service", service), ("testset_id", testset_id), ("status", status)):
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        sql = "SELECT id, run_id, service, testset_id, started_at, finished_at, status,"
        sql += " num_questions, report_dir, message FROM runs"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY id DESC"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        with self._connect() as db:
            rows = db.execute(sql, params).fetchall()
            scores: dict[int, dict[str, float]] = {row[0]: {} for row in rows}
            if rows:
                marks = ",".join("?" * len(rows))
                for run, metric, value in db.execute(
                    f"SELECT run, metric, value FROM scores WHERE run IN ({marks})",
                    [row[0] for row in rows],
                ):
                    scores[run][metric] = value
        return [
            RunRecord(
                run_id=row[1], service=row[2], testset_id=row[3],
                started_at=_parse(row[4]), finished_at=_parse(row[5]), status=row[6],
                num_questions=row[7], scores=scores[row[0]], report_dir=row[8], message=row[9],
            )
            for row in rows
        ]  # fmt: skip

    def services(self) -> list[str]:
        with self._connect() as db:
            return [r[0] for r in db.execute("SELECT DISTINCT service FROM runs ORDER BY service")]

    def baseline(
        self,
        service: str,
        testset_id: str,
        *,
        mode: str = "previous",
        window: int = 7,
        before: str | None = None,
    ) -> dict[str, float]:
        """Scores to compare the next run against: the previous scored run, or the mean of the
        last ``window`` scored runs, of this service on this testset. Empty: no baseline yet.
        With ``before`` (a run id), the baseline that run was compared against: runs older
        than it only."""
        runs = self.runs(service, testset_id=testset_id)
        ids = [r.run_id for r in runs]
        if before is not None and before in ids:
            runs = runs[ids.index(before) + 1 :]
        scored = [r for r in runs if r.status != STATUS_ERROR]
        runs = scored[: 1 if mode == "previous" else window]
        if not runs:
            return {}
        metrics = set().union(*(r.scores for r in runs))
        baseline = {}
        for metric in sorted(metrics):
            values = [r.scores[metric] for r in runs if metric in r.scores]
            baseline[metric] = sum(values) / len(values)
        return baseline

    def trend(self, service: str, metric: str) -> list[tuple[datetime, float]]:
        """(finished_at, value) of ``metric`` for ``service``, oldest first."""
        with self._connect() as db:
            rows = db.execute(
                "SELECT runs.finished_at, scores.value FROM runs"
                " JOIN scores ON scores.run = runs.id"
                " WHERE runs.service = ? AND scores.metric = ? ORDER BY runs.id",
                (service, metric),
            ).fetchall()
        return [(_parse(at), value) for at, value in rows]

    def last_success(self, service: str) -> datetime | None:
        runs = self.runs(service, status=STATUS_OK, limit=1)
        return runs[0].finished_at if runs else None


def _iso(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError("history timestamps must be timezone-aware")
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def _parse(text: str) -> datetime:
    return datetime.fromisoformat(text)
