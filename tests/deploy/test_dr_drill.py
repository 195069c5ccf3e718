"""The disaster-recovery drill: real PostgreSQL 15 + real ClickHouse (chdb), Langfuse-shaped
data, deploy/dr/backup.sh, total loss, deploy/dr/restore.sh, proof by row counts and content
checksums computed independently of the scripts, and the recovery time against the 30-minute
RTO."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from tests.deploy.conftest import REPO, ChEngine, PgCluster
from tests.deploy.langfuse_shape import (
    CLICKHOUSE_SCHEMA,
    POSTGRES_DATA,
    POSTGRES_SCHEMA,
    clickhouse_data,
)

RTO_SECONDS = 30 * 60
DATABASE = "postgres_langfuse"
BACKUP = REPO / "deploy/dr/backup.sh"
RESTORE = REPO / "deploy/dr/restore.sh"
TRACES = 20_000


def load_postgres(pg: PgCluster) -> None:
    pg.psql(f"DROP DATABASE IF EXISTS {DATABASE}")
    pg.psql(f"CREATE DATABASE {DATABASE}")
    pg.psql(POSTGRES_SCHEMA, DATABASE)
    pg.psql(POSTGRES_DATA, DATABASE)


def load_clickhouse(ch: ChEngine) -> None:
    for statement in (*CLICKHOUSE_SCHEMA, *clickhouse_data(TRACES)):
        ch.query(statement)


def postgres_fingerprint(pg: PgCluster) -> dict[str, tuple[int, str]]:
    tables = pg.psql(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1", DATABASE
    ).split()
    result = {}
    for table in tables:
        row = pg.psql(
            f"SELECT count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM public.{table} t",
            DATABASE,
        )
        count, digest = row.split("|")
        result[table] = (int(count), digest)
    return result


def clickhouse_fingerprint(ch: ChEngine) -> dict[str, tuple[int, str]]:
    result = {}
    for table in ch.query(
        "SELECT name FROM system.tables WHERE database = 'default' ORDER BY name"
    ).split():
        count, digest = ch.query(f"SELECT count(), sum(sipHash64(*)) FROM default.{table}").split(
            "\t"
        )
        result[table] = (int(count), digest)
    return result


def dr_env(pg: PgCluster, ch: ChEngine, backup_dir: Path) -> dict[str, str]:
    return {
        **pg.env(DATABASE),
        "CLICKHOUSE_CLIENT": ch.client_command,
        "CLICKHOUSE_DB": "default",
        "CLICKHOUSE_BACKUP_TARGET": f"File('{backup_dir}/clickhouse')",
        "DR_CHECKSUMS": "1",
    }


def run(script: Path, backup_dir: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(script), str(backup_dir)],
        env=env,
        capture_output=True,
        text=True,
        timeout=RTO_SECONDS,
        check=False,
    )


@pytest.mark.slow
def test_backup_destroy_restore_meets_rto(
    pg_cluster: PgCluster, ch_engine: ChEngine, tmp_path: Path
) -> None:
    load_postgres(pg_cluster)
    load_clickhouse(ch_engine)
    before_pg = postgres_fingerprint(pg_cluster)
    before_ch = clickhouse_fingerprint(ch_engine)
    assert before_pg["job_executions"][0] == 20_000 and before_ch["observations"][0] == 4 * TRACES

    backup_dir = tmp_path / "backups" / "langfuse-drill"
    env = dr_env(pg_cluster, ch_engine, backup_dir)
    backup = run(BACKUP, backup_dir, env)
    assert backup.returncode == 0, backup.stderr
    manifest = (backup_dir / "MANIFEST").read_text()
    assert "postgres_dump postgres.dump " in manifest and "checksums 1" in manifest
    inventory = (backup_dir / "inventory.txt").read_text().splitlines()
    assert len(inventory) == len(before_pg) + len(before_ch)

    # Disaster: the Postgres database and the whole ClickHouse data directory are gone.
    pg_cluster.psql(f"DROP DATABASE {DATABASE}")
    shutil.rmtree(ch_engine.path)
    assert DATABASE not in pg_cluster.psql("SELECT datname FROM pg_database").split()

    started = time.monotonic()
    restore = run(RESTORE, backup_dir, env)
    recovery_seconds = time.monotonic() - started
    assert restore.returncode == 0, restore.stderr
    assert "restore verified" in restore.stderr

    assert postgres_fingerprint(pg_cluster) == before_pg
    assert clickhouse_fingerprint(ch_engine) == before_ch
    rows = sum(c for c, _ in before_pg.values()) + sum(c for c, _ in before_ch.values())
    print(
        f"\nDR drill: {rows} rows in {len(before_pg)} Postgres + {len(before_ch)} ClickHouse tables; "
        f"measured recovery time (restore.sh incl. verification) {recovery_seconds:.1f} s; RTO {RTO_SECONDS} s"
    )
    assert recovery_seconds < RTO_SECONDS


def test_restore_refuses_a_corrupted_dump(
    tmp_path: Path, pg_cluster: PgCluster, ch_engine: ChEngine
) -> None:
    backup_dir = tmp_path / "broken"
    backup_dir.mkdir()
    (backup_dir / "postgres.dump").write_bytes(b"not the dump that was taken")
    (backup_dir / "MANIFEST").write_text(
        "postgres_database postgres_langfuse\npostgres_dump postgres.dump " + "0" * 64 + "\n"
        "clickhouse_database default\nclickhouse_target File('/nowhere')\nchecksums 0\n"
    )
    done = run(RESTORE, backup_dir, dr_env(pg_cluster, ch_engine, backup_dir))
    assert done.returncode != 0
    assert "postgres.dump checksum mismatch" in done.stderr


def test_restore_needs_a_complete_backup(
    tmp_path: Path, pg_cluster: PgCluster, ch_engine: ChEngine
) -> None:
    done = run(RESTORE, tmp_path, dr_env(pg_cluster, ch_engine, tmp_path))
    assert done.returncode != 0 and "no MANIFEST" in done.stderr


def test_backup_refuses_to_overwrite(
    tmp_path: Path, pg_cluster: PgCluster, ch_engine: ChEngine
) -> None:
    (tmp_path / "MANIFEST").write_text("created earlier\n")
    done = run(BACKUP, tmp_path, dr_env(pg_cluster, ch_engine, tmp_path))
    assert done.returncode != 0 and "already holds a backup" in done.stderr


def test_scripts_are_executable() -> None:
    assert os.access(BACKUP, os.X_OK) and os.access(RESTORE, os.X_OK)
