"""Where the app keeps its local files (database, secret key, certificates, PDFs)."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def instance_path() -> Path:
    return Path(os.environ.get("CAREPLAN_INSTANCE_PATH", PROJECT_ROOT / "instance")).resolve()


def default_database_url() -> str:
    return os.environ.get("DATABASE_URL") or f"sqlite:///{instance_path() / 'careplan.db'}"


def path_list(value: str | list[str] | tuple[str, ...] | None) -> list[str]:
    """Files named in one setting, separated by os.pathsep (or already a list)."""
    if not value:
        return []
    items = value.split(os.pathsep) if isinstance(value, str) else list(value)
    return [str(p) for p in items if p]
