"""Module-level jobs for the sandbox tests (the render host imports them by name)."""

from __future__ import annotations


def spin() -> None:
    while True:
        pass


def allocate(megabytes: int) -> int:
    return len(bytearray(megabytes * 1024 * 1024))


def explode() -> None:
    raise ValueError("no good")


def echo(value):
    return value


def connect(host: str, port: int) -> tuple[bool, str]:
    """Try to reach a server from inside the sandbox; say whether the network was isolated."""
    import os
    import socket

    isolated = os.environ.get("CAREPLAN_PDF_NETWORK_ISOLATED") == "1"
    try:
        socket.create_connection((host, port), timeout=2).close()
    except OSError as exc:
        return isolated, f"refused: {exc}"
    return isolated, "connected"
