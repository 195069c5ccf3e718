"""Real engines for the deploy tests: a PostgreSQL 15 cluster of our own (initdb in a temp dir,
started on a free loopback port as the ``postgres`` user, stopped at the end) and chdb."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

PG_BIN = Path(os.environ.get("SOMATRACE_PG_BIN", "/usr/lib/postgresql/15/bin"))
REPO = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class PgCluster:
    bin: Path
    host: str
    port: int
    user: str = "postgres"

    def env(self, database: str = "postgres") -> dict[str, str]:
        return {
            **os.environ,
            "PGHOST": self.host,
            "PGPORT": str(self.port),
            "PGUSER": self.user,
            "PGDATABASE": database,
            "PG_BIN": str(self.bin),
        }

    def psql(self, sql: str, database: str = "postgres", *extra: str) -> str:
        done = subprocess.run(
            [str(self.bin / "psql"), "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", *extra, "-c", sql],
            env=self.env(database),
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise AssertionError(f"psql failed ({done.returncode}): {done.stderr}")
        return done.stdout.strip()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _as_postgres(*cmd: str) -> subprocess.CompletedProcess[str]:
    prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    return subprocess.run([*prefix, *cmd], capture_output=True, text=True, check=False)


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PgCluster]:
    """A throw-away PostgreSQL 15 cluster on 127.0.0.1 (trust auth, loopback only)."""
    if not (PG_BIN / "initdb").exists():
        pytest.fail(f"PostgreSQL 15 binaries not found in {PG_BIN} (set SOMATRACE_PG_BIN)")
    base = Path(tempfile.mkdtemp(prefix="somatrace-pg-"))
    data, sockets = base / "data", base / "sock"
    sockets.mkdir()
    if os.geteuid() == 0:
        shutil.chown(base, "postgres")
        shutil.chown(sockets, "postgres")
    init = _as_postgres(
        str(PG_BIN / "initdb"),
        "-D",
        str(data),
        "-U",
        "postgres",
        "--auth=trust",
        "--encoding=UTF8",
        "--no-sync",
    )
    assert init.returncode == 0, init.stderr
    port = _free_port()
    options = f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1 -c fsync=off"
    start = _as_postgres(
        str(PG_BIN / "pg_ctl"),
        "-D",
        str(data),
        "-o",
        options,
        "-l",
        str(base / "log"),
        "-w",
        "start",
    )
    assert start.returncode == 0, (
        start.stderr + (base / "log").read_text() if (base / "log").exists() else ""
    )
    try:
        yield PgCluster(PG_BIN, "127.0.0.1", port)
    finally:
        _as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(base, ignore_errors=True)


@dataclass(frozen=True)
class ChEngine:
    """An embedded ClickHouse (chdb) data directory, reachable as ``$CLICKHOUSE_CLIENT``."""

    path: Path
    config: Path

    @property
    def client_command(self) -> str:
        script = REPO / "tests/deploy/chdb_client.py"
        return f"{sys.executable} {script} --path {self.path} --config {self.config}"

    def query(self, sql: str) -> str:
        import chdb

        connection = chdb.connect(f"file:{self.path}?config-file={self.config}")
        try:
            return connection.query(sql, "TSV").bytes().decode("utf-8").strip()
        finally:
            connection.close()


@pytest.fixture
def ch_engine(tmp_path: Path) -> ChEngine:
    backups = tmp_path / "backups"
    backups.mkdir()
    config = tmp_path / "clickhouse.xml"
    config.write_text(
        f"<clickhouse><backups><allowed_path>{tmp_path}/</allowed_path></backups></clickhouse>\n"
    )
    return ChEngine(tmp_path / "chdata", config)
