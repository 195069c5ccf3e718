"""The retention the chart lacks: the SQL in deploy/k8s/langfuse-retention-sql.yaml, run exactly
as the CronJob runs it, on a real ClickHouse (chdb) and a real PostgreSQL 15; and the policy
itself (30 days dev, 180 days prod) as the Helm values state it."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from tests.deploy.conftest import REPO, ChEngine, PgCluster
from tests.deploy.langfuse_shape import (
    CLICKHOUSE_SCHEMA,
    POSTGRES_DATA,
    POSTGRES_SCHEMA,
    clickhouse_data,
)

CONFIGMAP = REPO / "deploy/k8s/langfuse-retention-sql.yaml"
HELM = REPO / "deploy/helm/langfuse"


def retention_sql() -> dict[str, str]:
    return yaml.safe_load(CONFIGMAP.read_text())["data"]


def retention_cronjob(env: str) -> dict:
    values = yaml.safe_load((HELM / f"values-{env}.yaml").read_text())
    (job,) = [m for m in values["extraManifests"] if m["kind"] == "CronJob"]
    return job


def container_env(container: dict) -> dict[str, str]:
    return {e["name"]: e.get("value") for e in container["env"]}


@pytest.mark.parametrize(("env", "days"), [("dev", "30"), ("prod", "180")])
def test_values_state_the_retention_policy(env: str, days: str) -> None:
    pod = retention_cronjob(env)["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    assert container_env(pod["initContainers"][0])["RETENTION_DAYS"] == days
    assert container_env(pod["containers"][0])["RETENTION_DAYS"] == days
    assert pod["volumes"][0]["configMap"]["name"] == "langfuse-retention-sql"


def test_clickhouse_ttl_removes_only_expired_rows(ch_engine: ChEngine) -> None:
    for statement in (*CLICKHOUSE_SCHEMA, *clickhouse_data(3650)):  # ten traces a day over a year
        ch_engine.query(statement)
    sql = retention_sql()["clickhouse-ttl.sql"].replace("__RETENTION_DAYS__", "30")
    statements = [s.strip() for s in sql.split(";") if s.strip()]
    assert len(statements) == 4
    for statement in statements:
        ch_engine.query(statement)
    for table in ("traces", "observations", "scores", "blob_storage_file_log"):
        ch_engine.query(f"OPTIMIZE TABLE {table} FINAL")
        assert "TTL" in ch_engine.query(f"SHOW CREATE TABLE {table}")
    column = {
        "traces": "timestamp",
        "observations": "start_time",
        "scores": "timestamp",
        "blob_storage_file_log": "created_at",
    }
    for table, col in column.items():
        old = int(
            ch_engine.query(f"SELECT count() FROM {table} WHERE {col} < now() - INTERVAL 31 DAY")
        )
        recent = int(
            ch_engine.query(f"SELECT count() FROM {table} WHERE {col} > now() - INTERVAL 29 DAY")
        )
        assert old == 0, f"{table}: {old} rows older than 30 days survived"
        assert recent > 0, f"{table}: recent rows were deleted"
    # ~29 days of 10 traces a day kept, the other ~335 days gone.
    assert 280 <= int(ch_engine.query("SELECT count() FROM traces")) <= 310


def run_cleanup(
    pg: PgCluster, database: str, days: str, tmp_path: Path
) -> subprocess.CompletedProcess[str]:
    script = tmp_path / "postgres-cleanup.sql"
    script.write_text(retention_sql()["postgres-cleanup.sql"])
    return subprocess.run(
        [
            str(pg.bin / "psql"),
            "-X",
            "-v",
            "ON_ERROR_STOP=1",
            "-v",
            f"retention_days={days}",
            "-f",
            str(script),
        ],
        env=pg.env(database),
        capture_output=True,
        text=True,
        check=False,
    )


def test_postgres_cleanup_deletes_old_trace_data_only(
    pg_cluster: PgCluster, tmp_path: Path
) -> None:
    database = "retention_test"
    pg_cluster.psql(f"DROP DATABASE IF EXISTS {database}")
    pg_cluster.psql(f"CREATE DATABASE {database}")
    pg_cluster.psql(POSTGRES_SCHEMA, database)
    pg_cluster.psql(POSTGRES_DATA, database)
    untouched_before = {
        t: pg_cluster.psql(f"SELECT count(*) FROM {t}", database)
        for t in ("users", "projects", "prompts", "datasets", "dataset_items", "api_keys")
    }
    prompt_comments = pg_cluster.psql(
        "SELECT count(*) FROM comments WHERE object_type = 'PROMPT'", database
    )

    done = run_cleanup(pg_cluster, database, "30", tmp_path)
    assert done.returncode == 0, done.stderr
    # tables this schema lacks are skipped, named
    assert (
        "observation_media not present" in done.stderr
        and "batch_exports not present" in done.stderr
    )

    for table, col in (
        ("job_executions", "created_at"),
        ("trace_media", "created_at"),
        ("traces", "timestamp"),
    ):
        old = pg_cluster.psql(
            f"SELECT count(*) FROM {table} WHERE {col} < now() - interval '30 days'", database
        )
        kept = int(pg_cluster.psql(f"SELECT count(*) FROM {table}", database))
        assert old == "0" and kept > 0, table
    trace_comments_old = pg_cluster.psql(
        "SELECT count(*) FROM comments WHERE object_type <> 'PROMPT' AND created_at < now() - interval '30 days'",
        database,
    )
    assert trace_comments_old == "0"
    # prompt comments, users, prompts, datasets: not trace data, never deleted
    assert (
        pg_cluster.psql("SELECT count(*) FROM comments WHERE object_type = 'PROMPT'", database)
        == prompt_comments
    )
    for table, count in untouched_before.items():
        assert pg_cluster.psql(f"SELECT count(*) FROM {table}", database) == count, table

    again = run_cleanup(pg_cluster, database, "30", tmp_path)  # idempotent
    assert again.returncode == 0 and "0 rows older than" in again.stderr


@pytest.mark.parametrize("days", ["0", "-5", "thirty"])
def test_postgres_cleanup_rejects_bad_retention(
    pg_cluster: PgCluster, tmp_path: Path, days: str
) -> None:
    if "retention_bad" not in pg_cluster.psql("SELECT datname FROM pg_database").split():
        pg_cluster.psql("CREATE DATABASE retention_bad")
    done = run_cleanup(pg_cluster, "retention_bad", days, tmp_path)
    assert done.returncode != 0
    assert "retention_days" in done.stderr or "invalid input syntax" in done.stderr
