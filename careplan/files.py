"""Writing files so that readers only ever see nothing or the complete file, and only the
app's own user can read them.

The app's files hold people's records (the SQLite database, sealed PDFs, exports) and its
secrets. A folder the app makes is 0700 and a file it writes 0600 unless the caller asks
otherwise (a certificate is public), whatever the umask; a folder or file that already exists
keeps the mode it was given. File names too: one way for every file written or downloaded
(`safe_file_name`)."""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
import unicodedata
from pathlib import Path

# Characters file systems refuse, and control characters.
_REFUSED = re.compile(r'[\\/:*?"<>|\x00-\x1f]')


def safe_file_name(name: str, ascii_only: bool = False) -> str:
    """`name` without the characters file systems refuse. `ascii_only`: for programs that read
    only plain ASCII, dashes as "-" and accents taken off ("Zoë – version 2" is "Zoe - version
    2"), not dropped with the spaces around them left doubled."""
    name = _REFUSED.sub("", name)
    if not ascii_only:
        return name
    plain = name.replace("–", "-").replace("—", "-")
    plain = unicodedata.normalize("NFKD", plain).encode("ascii", "ignore").decode()
    return " ".join(plain.split())


def write_atomically(
    path: Path | str, data: bytes, *, mode: int = 0o600, replace: bool = True
) -> Path:
    """Write ``data`` to ``path`` via a temporary file in the same folder, fsync and rename.

    If anything fails before the rename, the temporary file is removed and ``path`` is left as
    it was (absent, or the previous complete file). The folder is fsynced after the rename so
    the new name survives a crash. With ``replace=False`` an existing ``path`` is never
    overwritten: FileExistsError instead.
    """
    path = Path(path)
    private_folder(path.parent)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as tmp:
            os.fchmod(tmp.fileno(), mode)
            tmp.write(data)
            tmp.flush()
            os.fsync(tmp.fileno())
        if replace:
            os.replace(tmp_name, path)
        else:
            os.link(tmp_name, path)  # refuses an existing name, atomically
            os.unlink(tmp_name)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise
    _fsync_dir(path.parent)
    return path


def private_folder(folder: Path) -> None:
    """The folder, made 0700 if it is missing (its missing parents get the usual mode)."""
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)


def private_file(path: Path) -> None:
    """An empty file only this user can read and write, unless it exists already."""
    private_folder(path.parent)
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
