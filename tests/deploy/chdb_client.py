"""A clickhouse-client stand-in over a real embedded ClickHouse (chdb), for the DR drill.

The DR scripts talk to ClickHouse through ``$CLICKHOUSE_CLIENT``: a command that reads one SQL
statement on stdin and prints the result. In production that is ``clickhouse-client``; here it
is this script, which runs the statement on chdb (the ClickHouse engine embedded in a Python
package) over a data directory that persists between calls::

    python chdb_client.py --path DATA_DIR --config CONFIG_XML < statement.sql
"""

from __future__ import annotations

import argparse
import sys

import chdb


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--path", required=True, help="chdb data directory")
    parser.add_argument(
        "--config", required=True, help="ClickHouse config XML (backups.allowed_path)"
    )
    args = parser.parse_args()
    sql = sys.stdin.read().strip().rstrip(";")
    connection = chdb.connect(f"file:{args.path}?config-file={args.config}")
    try:
        result = connection.query(sql, "TSV")
        sys.stdout.write(
            result.bytes().decode("utf-8") if hasattr(result, "bytes") else str(result)
        )
    except Exception as exc:  # report like clickhouse-client: message on stderr, exit non-zero
        print(f"Code: chdb. {exc}", file=sys.stderr)
        return 1
    finally:
        connection.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
