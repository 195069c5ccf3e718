#!/usr/bin/env bash
# Back up Langfuse: PostgreSQL (pg_dump -Fc) and ClickHouse (BACKUP DATABASE), plus a
# MANIFEST (checksum of the dump, ClickHouse target, row counts [and content checksums] of
# every table) that restore.sh verifies against.
#
#   deploy/dr/backup.sh /backups/langfuse-$(date -u +%Y%m%dT%H%M%SZ)
#
# Configuration: environment variables, see common.sh. Runbook: docs/runbooks/langfuse_ops.md
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=common.sh
. "$here/common.sh"

[ $# -eq 1 ] || die "usage: backup.sh BACKUP_DIR"
dir="$1"
[ ! -e "$dir/MANIFEST" ] || die "$dir already holds a backup"
mkdir -p "$dir"
dir="$(cd "$dir" && pwd)"
target="${CLICKHOUSE_BACKUP_TARGET:-File('$dir/clickhouse')}"

log "postgres: inventory of $PGDATABASE"
pg_inventory > "$dir/inventory.txt"
log "postgres: pg_dump -Fc $PGDATABASE"
pg pg_dump -Fc --no-owner --no-privileges -f "$dir/postgres.dump" "$PGDATABASE"
# The inventory is exact only if nothing writes between it and the snapshot: scale the
# langfuse-worker Deployment to 0 first (ingestion then waits in Redis/S3, nothing is lost;
# see the runbook), or restore.sh will report the rows written in between.

log "clickhouse: inventory of $CLICKHOUSE_DB"
ch_inventory >> "$dir/inventory.txt"
log "clickhouse: BACKUP DATABASE $CLICKHOUSE_DB TO $target"
result="$(ch "BACKUP DATABASE \`$CLICKHOUSE_DB\` TO $target FORMAT TSV")"
case "$result" in
  *BACKUP_CREATED*) ;;
  *) die "clickhouse backup did not complete: $result" ;;
esac

{
  printf 'created %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  printf 'postgres_database %s\n' "$PGDATABASE"
  printf 'postgres_dump postgres.dump %s\n' "$(sha256 "$dir/postgres.dump")"
  printf 'clickhouse_database %s\n' "$CLICKHOUSE_DB"
  printf 'clickhouse_target %s\n' "$target"
  printf 'checksums %s\n' "$DR_CHECKSUMS"
} > "$dir/MANIFEST"
log "backup complete: $dir ($(wc -l < "$dir/inventory.txt") tables)"
