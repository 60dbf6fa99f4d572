"""The command-line options every benchmark shares: which databases it runs on, and where the
PostgreSQL server is."""

from __future__ import annotations

import argparse
import os

DEFAULT_PG = os.environ.get("CAREPLAN_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432")


def add_database_options(parser: argparse.ArgumentParser, default_db: str) -> None:
    parser.add_argument(
        "--db",
        choices=("sqlite", "postgresql", "both"),
        default=default_db,
        help=f"which database to run on (default {default_db}; both: SQLite, then PostgreSQL)",
    )
    parser.add_argument(
        "--pg-url",
        "--pg",
        dest="pg_url",
        default=DEFAULT_PG,
        help=f"PostgreSQL server, without a database (default {DEFAULT_PG}, or "
        "$CAREPLAN_BENCH_PG_URL); each run makes its own database there and drops it",
    )
