# Shared by backup.sh and restore.sh (sourced, not run).
#
# PostgreSQL: the libpq variables PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE
#   (default database: postgres_langfuse); PG_BIN: directory of pg_dump/pg_restore/psql
#   (default: from PATH).
# ClickHouse: CLICKHOUSE_CLIENT, a command that reads one SQL statement on stdin and prints
#   TSV (default: "clickhouse-client"; e.g. "clickhouse-client --host langfuse-clickhouse
#   --user default --password ..."); CLICKHOUSE_DB (default: default);
#   CLICKHOUSE_BACKUP_TARGET, the ClickHouse backup destination as SQL, e.g.
#   "S3('http://langfuse-s3.langfuse.svc:9000/backups/ch-2026-11-26', 'user', 'pass')" or
#   "Disk('backups', 'ch-2026-11-26.zip')" (default: File('<backup dir>/clickhouse'), which
#   needs ClickHouse to share that directory and allow it in backups.allowed_path).
# DR_CHECKSUMS=1 adds content checksums of every table to counts (slower, exact).

set -euo pipefail

PGDATABASE="${PGDATABASE:-postgres_langfuse}"
export PGDATABASE
CLICKHOUSE_DB="${CLICKHOUSE_DB:-default}"
DR_CHECKSUMS="${DR_CHECKSUMS:-0}"
read -r -a CH_CMD <<< "${CLICKHOUSE_CLIENT:-clickhouse-client}"

pg() { "${PG_BIN:+$PG_BIN/}$1" "${@:2}"; }

log() { printf '%s %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" >&2; }

die() { log "ERROR: $*"; exit 1; }

ch() { printf '%s\n' "$1" | "${CH_CMD[@]}"; }

sha256() { sha256sum "$1" | cut -d' ' -f1; }

# One line per table: "postgres <table> <rows> [<checksum>]", sorted.
pg_inventory() {
  local table rows sum
  pg psql -X -q -v ON_ERROR_STOP=1 -At -c \
    "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename" |
  while read -r table; do
    [ -n "$table" ] || continue
    rows=$(pg psql -X -q -v ON_ERROR_STOP=1 -At -c "SELECT count(*) FROM public.\"$table\"")
    if [ "$DR_CHECKSUMS" = 1 ]; then
      sum=$(pg psql -X -q -v ON_ERROR_STOP=1 -At -c \
        "SELECT coalesce(md5(string_agg(r::text, E'\\n' ORDER BY r::text)), '-') FROM public.\"$table\" AS r")
      printf 'postgres %s %s %s\n' "$table" "$rows" "$sum"
    else
      printf 'postgres %s %s\n' "$table" "$rows"
    fi
  done
}

# One line per MergeTree table of CLICKHOUSE_DB: "clickhouse <table> <rows> [<checksum>]".
ch_inventory() {
  local table measure
  if [ "$DR_CHECKSUMS" = 1 ]; then measure="count(), groupBitXor(cityHash64(*))"; else measure="count()"; fi
  ch "SELECT name FROM system.tables WHERE database = '$CLICKHOUSE_DB' AND engine LIKE '%MergeTree%' ORDER BY name FORMAT TSV" |
  while read -r table; do
    [ -n "$table" ] || continue
    printf 'clickhouse %s %s\n' "$table" \
      "$(ch "SELECT $measure FROM \`$CLICKHOUSE_DB\`.\`$table\` FORMAT TSV" | tr '\t' ' ')"
  done
}
