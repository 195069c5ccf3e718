#!/usr/bin/env bash
# Restore Langfuse from a backup.sh directory: verify the dump's checksum, pg_restore into
# PGDATABASE (created if missing), RESTORE the ClickHouse database, then prove the restore by
# comparing every table's row count (and content checksum, if the backup recorded them) with
# the backup's inventory. Exits non-zero on any difference.
#
#   deploy/dr/restore.sh /backups/langfuse-20261126T020000Z
#
# Run it against EMPTY targets (a fresh database / cluster after a loss). Configuration:
# environment variables, see common.sh. Runbook: docs/runbooks/langfuse_ops.md
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=common.sh
. "$here/common.sh"

[ $# -eq 1 ] || die "usage: restore.sh BACKUP_DIR"
dir="$(cd "$1" && pwd)"
[ -f "$dir/MANIFEST" ] || die "$dir has no MANIFEST: not a complete backup"
field() { awk -v k="$1" '$1 == k { $1 = ""; sub(/^ /, ""); print; exit }' "$dir/MANIFEST"; }

expected="$(field postgres_dump | cut -d' ' -f2)"
actual="$(sha256 "$dir/postgres.dump")"
[ "$expected" = "$actual" ] || die "postgres.dump checksum mismatch: manifest $expected, file $actual"
DR_CHECKSUMS="$(field checksums)"
CLICKHOUSE_DB="$(field clickhouse_database)"
target="$(field clickhouse_target)"

if [ -z "$(PGDATABASE=postgres pg psql -X -At -c "SELECT 1 FROM pg_database WHERE datname = '$PGDATABASE'")" ]; then
  log "postgres: creating database $PGDATABASE"
  PGDATABASE=postgres pg createdb "$PGDATABASE"
fi
log "postgres: pg_restore into $PGDATABASE"
if [ "${PG_RESTORE_JOBS:-1}" -gt 1 ]; then
  pg pg_restore --clean --if-exists --no-owner --no-privileges --exit-on-error \
    --jobs "$PG_RESTORE_JOBS" -d "$PGDATABASE" "$dir/postgres.dump"
else
  pg pg_restore --clean --if-exists --no-owner --no-privileges --exit-on-error \
    --single-transaction -d "$PGDATABASE" "$dir/postgres.dump"
fi

log "clickhouse: RESTORE DATABASE $CLICKHOUSE_DB FROM $target"
ch "CREATE DATABASE IF NOT EXISTS \`$CLICKHOUSE_DB\`" > /dev/null
result="$(ch "RESTORE DATABASE \`$CLICKHOUSE_DB\` FROM $target FORMAT TSV")"
case "$result" in
  *RESTORED*) ;;
  *) die "clickhouse restore did not complete: $result" ;;
esac

log "verifying every table against the backup inventory"
{ pg_inventory; ch_inventory; } > "$dir/inventory.restored.txt"
if ! diff -u "$dir/inventory.txt" "$dir/inventory.restored.txt" >&2; then
  die "restored data differs from the backup inventory (see diff above)"
fi
log "restore verified: $(wc -l < "$dir/inventory.txt") tables match"
