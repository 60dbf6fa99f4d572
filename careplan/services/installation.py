"""A whole installation as one archive, and back into a new, empty installation.

The export is generic over the models' metadata: every table, in foreign-key order, rows in
primary-key order, every column, so tables added later are included without a change here.
Values keep their exact form: ids, hashes and timestamps (to the microsecond) as stored, and
JSON columns as the JSON text the database holds. Rows are streamed from one consistent
snapshot into the archive, and from the archive into the database, a batch at a time.

Files kept outside the database that rows refer to (the sealed PDFs) travel with the rows and
are checked against the hashes the rows hold.

Archive layout (a zip file):
    manifest.json              format, schema revision, tables (columns, row counts, SHA-256)
                               and files (SHA-256)
    tables/NNN-<table>.jsonl   one JSON array per row, values in the manifest's column order
    files/<store>/<name>       the files, e.g. files/pdfs/12-v3-….pdf
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import re
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ..db import statistics
from ..db.engine import Database
from ..db.models import Base, PdfRender, utcnow
from ..files import write_atomically
from . import audit
from .errors import ServiceError
from .fhir import ExportSettings

FORMAT = "careplan-installation"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
BATCH = 1000
SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._\- –]{0,250}$")


class PortabilityError(ServiceError):
    """The export or import cannot go ahead; the message says why and what to do."""


@dataclass(frozen=True)
class FileStore:
    """A folder of files that rows refer to; `referenced` lists (name, SHA-256 the rows hold)."""

    name: str
    folder: Path
    referenced: Callable[[Connection], Iterable[tuple[str, str]]]


def _sealed_pdfs(conn: Connection) -> Iterable[tuple[str, str]]:
    return conn.execute(
        sa.select(PdfRender.file_name, PdfRender.file_sha256)
        .where(PdfRender.status == "ready", PdfRender.file_name != "")
        .order_by(PdfRender.id)
    )


def file_stores(settings: ExportSettings) -> list[FileStore]:
    return [FileStore("pdfs", settings.pdf_storage, _sealed_pdfs)]


@dataclass(frozen=True)
class Summary:
    schema_revision: str
    tables: int
    rows: int
    files: int


# --- values ------------------------------------------------------------------------------------


def _kind(column: sa.Column) -> str:
    """How a column's values are written: by the type the column is stored as."""
    t = column.type
    t = getattr(t, "impl_instance", t)  # a TypeDecorator: what it stores
    if isinstance(t, sa.JSON):
        return "json"
    if isinstance(t, sa.DateTime):
        return "datetime"
    if isinstance(t, sa.Date):
        return "date"
    if isinstance(t, sa.Time):
        return "time"
    if isinstance(t, sa.LargeBinary):
        return "bytes"
    if isinstance(t, sa.Numeric) and not isinstance(t, sa.Float):
        return "decimal"
    return "plain"


def _encode(value: Any, kind: str, where: str) -> Any:
    if value is None:
        return None
    if kind in ("datetime", "date", "time"):
        return value.isoformat()
    if kind == "bytes":
        return base64.b64encode(value).decode("ascii")
    if kind == "decimal":
        return str(value)
    if isinstance(value, (bool, int, float, str)):
        return value
    raise PortabilityError(f"{where}: values of type {type(value).__name__} cannot be exported.")


def _decode(value: Any, kind: str) -> Any:
    if value is None:
        return None
    if kind == "datetime":
        return datetime.fromisoformat(value)
    if kind == "date":
        return date.fromisoformat(value)
    if kind == "time":
        return time.fromisoformat(value)
    if kind == "bytes":
        return base64.b64decode(value)
    if kind == "decimal":
        return Decimal(value)
    return value


def _select_columns(table: sa.Table) -> list:
    # JSON columns are read as the text the database holds, so nothing about them changes
    # (not even SQL NULL versus a JSON null).
    return [sa.cast(c, sa.Text).label(c.name) if _kind(c) == "json" else c for c in table.columns]


# --- export -------------------------------------------------------------------------------------


def schema_revision(conn: Connection) -> str:
    try:
        revisions = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalars().all()
    except sa.exc.DBAPIError as exc:
        raise PortabilityError(
            "This database has not been set up: run `careplan db-upgrade` first."
        ) from exc
    if len(revisions) != 1:
        raise PortabilityError(
            "This database's schema revision is unclear (alembic_version has "
            f"{len(revisions)} rows); run `careplan db-upgrade` first."
        )
    return revisions[0]


def _unknown_tables(conn: Connection) -> list[str]:
    known = set(Base.metadata.tables) | {"alembic_version"}
    return sorted(set(sa.inspect(conn).get_table_names()) - known)


def export_installation(
    db: Database, out: IO[bytes], stores: list[FileStore], now: datetime | None = None
) -> Summary:
    """Write every row of every table, and the files rows refer to, to `out` (a zip)."""
    with db.snapshot() as s:
        conn = s.connection()
        revision = schema_revision(conn)
        unknown = _unknown_tables(conn)
        if unknown:
            raise PortabilityError(
                f"The database has tables this version of careplan does not know: "
                f"{', '.join(unknown)}. Nothing was exported."
            )
        with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, allowZip64=True) as zf:
            tables = [
                _export_table(conn, zf, n, table)
                for n, table in enumerate(Base.metadata.sorted_tables, start=1)
            ]
            files = [entry for store in stores for entry in _export_files(conn, zf, store)]
            manifest = {
                "format": FORMAT,
                "format_version": FORMAT_VERSION,
                "schema_revision": revision,
                "exported_at": (now or utcnow()).isoformat(),
                "source_database": db.engine.dialect.name,
                "tables": tables,
                "files": files,
            }
            zf.writestr(MANIFEST, json.dumps(manifest, indent=2, ensure_ascii=False))
    summary = Summary(revision, len(tables), sum(t["rows"] for t in tables), len(files))
    with db.write() as s:
        audit.record(
            s,
            None,
            "installation.export",
            "installation",
            detail={"tables": summary.tables, "rows": summary.rows, "files": summary.files},
        )
    return summary


def _export_table(conn: Connection, zf: zipfile.ZipFile, n: int, table: sa.Table) -> dict:
    name = f"tables/{n:03d}-{table.name}.jsonl"
    kinds = [(c.name, _kind(c)) for c in table.columns]
    digest = hashlib.sha256()
    rows = 0
    query = sa.select(*_select_columns(table)).order_by(*table.primary_key.columns)
    result = conn.execute(query, execution_options={"stream_results": True, "yield_per": BATCH})
    with zf.open(name, "w", force_zip64=True) as entry:
        for row in result:
            values = [
                _encode(v, kind, f"{table.name}.{col}")
                for v, (col, kind) in zip(row, kinds, strict=True)
            ]
            line = (json.dumps(values, ensure_ascii=False, separators=(",", ":")) + "\n").encode()
            entry.write(line)
            digest.update(line)
            rows += 1
    return {
        "name": table.name,
        "file": name,
        "columns": [col for col, _ in kinds],
        "rows": rows,
        "sha256": digest.hexdigest(),
    }


def _export_files(conn: Connection, zf: zipfile.ZipFile, store: FileStore) -> Iterator[dict]:
    for file_name, expected in store.referenced(conn):
        _check_name(file_name)
        path = store.folder / file_name
        digest, size = hashlib.sha256(), 0
        try:
            with path.open("rb") as src, zf.open(f"files/{store.name}/{file_name}", "w") as dst:
                while chunk := src.read(1 << 16):
                    digest.update(chunk)
                    dst.write(chunk)
                    size += len(chunk)
        except FileNotFoundError as exc:
            raise PortabilityError(
                f"{path} is missing, but the database refers to it. Nothing was exported."
            ) from exc
        if expected and digest.hexdigest() != expected:
            raise PortabilityError(
                f"{path} is not the file the database refers to (its SHA-256 differs). "
                "Nothing was exported."
            )
        yield {
            "store": store.name,
            "name": file_name,
            "file": f"files/{store.name}/{file_name}",
            "size": size,
            "sha256": digest.hexdigest(),
        }


def _check_name(file_name: str) -> None:
    if not SAFE_NAME.match(file_name) or ".." in file_name:
        raise PortabilityError(f"Refusing a file name that is not a plain name: {file_name!r}.")


# --- import -------------------------------------------------------------------------------------


def read_manifest(zf: zipfile.ZipFile) -> dict:
    try:
        manifest = json.loads(zf.read(MANIFEST))
    except (KeyError, ValueError) as exc:
        raise PortabilityError("This file is not a careplan installation export.") from exc
    if manifest.get("format") != FORMAT:
        raise PortabilityError("This file is not a careplan installation export.")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise PortabilityError(
            f"This export has format version {manifest.get('format_version')}; this version of "
            f"careplan reads version {FORMAT_VERSION}."
        )
    return manifest


def import_installation(db: Database, source: Path | IO[bytes], stores: list[FileStore]) -> Summary:
    """Load an export into this database, which must be migrated to the same schema revision
    and hold no rows at all. Everything is loaded in one transaction: all of it or nothing."""
    with zipfile.ZipFile(source) as zf:
        manifest = read_manifest(zf)
        by_name = {t["name"]: t for t in manifest["tables"]}
        with db.write() as s:
            conn = s.connection()
            revision = schema_revision(conn)
            if revision != manifest["schema_revision"]:
                raise PortabilityError(
                    f"The export was made at schema revision {manifest['schema_revision']}, but "
                    f"this database is at {revision}. Nothing was imported. Bring both "
                    "installations to the same version of careplan (careplan db-upgrade), "
                    "then export again."
                )
            _check_same_tables(by_name)
            _check_empty(conn)
            files = _import_files(zf, manifest["files"], {st.name: st for st in stores})
            rows = sum(
                _import_table(conn, zf, table, by_name[table.name])
                for table in Base.metadata.sorted_tables
            )
            if conn.dialect.name == "postgresql":
                _reset_sequences(conn)
    statistics.refresh(db.engine)
    return Summary(revision, len(by_name), rows, files)


def _check_same_tables(by_name: dict[str, dict]) -> None:
    ours = {name: {c.name for c in t.columns} for name, t in Base.metadata.tables.items()}
    theirs = {name: set(t["columns"]) for name, t in by_name.items()}
    if ours != theirs:
        different = sorted(n for n in ours.keys() | theirs.keys() if ours.get(n) != theirs.get(n))
        raise PortabilityError(
            f"The export's tables differ from this installation's ({', '.join(different)}). "
            "Nothing was imported."
        )


def _check_empty(conn: Connection) -> None:
    for table in Base.metadata.sorted_tables:
        if conn.execute(sa.select(sa.literal(1)).select_from(table).limit(1)).first():
            raise PortabilityError(
                f"This database already holds data (table {table.name} has rows). Nothing was "
                "imported. Import only into a new, empty database: create it, run "
                "`careplan db-upgrade`, then import."
            )


def _import_files(zf: zipfile.ZipFile, entries: list[dict], stores: dict[str, FileStore]) -> int:
    """Files go in before the rows that refer to them are committed."""
    for entry in entries:
        store = stores.get(entry["store"])
        if store is None:
            raise PortabilityError(
                f"The export holds files for an unknown store {entry['store']!r}."
            )
        _check_name(entry["name"])
        data = zf.read(entry["file"])
        if hashlib.sha256(data).hexdigest() != entry["sha256"]:
            raise PortabilityError(
                f"{entry['file']} in the export is damaged. Nothing was imported."
            )
        target = store.folder / entry["name"]
        if target.exists():
            if hashlib.sha256(target.read_bytes()).hexdigest() == entry["sha256"]:
                continue
            raise PortabilityError(
                f"{target} already exists with other contents. Nothing was imported."
            )
        write_atomically(target, data)
    return len(entries)


def _insert_statement(conn: Connection, table: sa.Table) -> sa.Insert:
    values = {}
    for c in table.columns:
        if _kind(c) == "json":
            raw = sa.bindparam(f"{c.name}__json", type_=sa.Text)
            # The stored JSON text goes in unchanged (no parsing and re-serialising).
            values[c.name] = sa.cast(raw, c.type) if conn.dialect.name == "postgresql" else raw
        else:
            values[c.name] = sa.bindparam(f"{c.name}__value", type_=c.type)
    return sa.insert(table).values(values)


def _import_table(conn: Connection, zf: zipfile.ZipFile, table: sa.Table, entry: dict) -> int:
    kinds = {c.name: _kind(c) for c in table.columns}
    columns = entry["columns"]
    keys = [f"{c}__json" if kinds[c] == "json" else f"{c}__value" for c in columns]
    statement = _insert_statement(conn, table)
    digest, count, batch = hashlib.sha256(), 0, []
    with zf.open(entry["file"]) as raw:
        for line in io.TextIOWrapper(raw, encoding="utf-8", newline="\n"):
            digest.update(line.encode("utf-8"))
            values = json.loads(line)
            batch.append(
                {
                    key: _decode(v, kinds[col])
                    for key, col, v in zip(keys, columns, values, strict=True)
                }
            )
            if len(batch) >= BATCH:
                conn.execute(statement, batch)
                count += len(batch)
                batch = []
    if batch:
        conn.execute(statement, batch)
        count += len(batch)
    if count != entry["rows"] or digest.hexdigest() != entry["sha256"]:
        raise PortabilityError(
            f"The rows of {table.name} in the export are damaged. Nothing was imported."
        )
    return count


def _reset_sequences(conn: Connection) -> None:
    """New rows after an import get ids after the imported ones."""
    for table in Base.metadata.sorted_tables:
        for column in table.primary_key.columns:
            sequence = conn.execute(
                sa.select(sa.func.pg_get_serial_sequence(table.name, column.name))
            ).scalar()
            if sequence is None:
                continue
            highest = conn.execute(sa.select(sa.func.max(column))).scalar()
            conn.execute(
                sa.text("SELECT setval(CAST(:sequence AS regclass), :next, false)"),
                {"sequence": sequence, "next": (highest or 0) + 1},
            )
