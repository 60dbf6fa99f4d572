"""Run one piece of risky work (a render, a check of an uploaded file) in a throwaway process
with a wall-clock deadline and memory, CPU-time and file-size limits.

The work is done by render hosts (careplan.pdf._host): helper processes started with
``python -m careplan.pdf._host`` that have WeasyPrint and pyHanko loaded and fork one child per
job. So a job starts in milliseconds, inherits none of the web app's threads, sockets or database
connections, and a runaway job is killed without harming the app. If a host itself stops
answering, the parent kills it too and starts a new one next time.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import pickle
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from careplan.paths import PROJECT_ROOT

HOST_MODULE = "careplan.pdf._host"
DEFAULT_TIMEOUT_SECONDS = 60.0
DEFAULT_MEMORY_BYTES = 1024 * 1024 * 1024
DEFAULT_MAX_TEXT_CHARS = 1_000_000
HOST_START_SECONDS = 120.0  # importing WeasyPrint and pyHanko on a cold, busy machine
HOST_GRACE_SECONDS = 10.0  # beyond a job's own deadline before the host itself is presumed stuck
MAX_HOSTS = int(os.environ.get("CAREPLAN_PDF_MAX_PROCESSES", "2"))


class RenderFailed(RuntimeError):
    """The PDF could not be produced (or a file could not be checked) within its bounds.

    The message is safe to log and show to staff; it never contains document content.
    """


@dataclass(frozen=True)
class RenderLimits:
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS
    memory_bytes: int = DEFAULT_MEMORY_BYTES  # address space (RLIMIT_AS) of the job process
    max_text_chars: int = DEFAULT_MAX_TEXT_CHARS  # refused before rendering starts

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> RenderLimits:
        """PDF_RENDER_TIMEOUT_SECONDS, PDF_RENDER_MEMORY_MB and PDF_MAX_TEXT_CHARS, if set."""
        memory_mb = config.get("PDF_RENDER_MEMORY_MB")
        return cls(
            timeout_seconds=float(
                config.get("PDF_RENDER_TIMEOUT_SECONDS") or DEFAULT_TIMEOUT_SECONDS
            ),
            memory_bytes=int(memory_mb) * 1024 * 1024 if memory_mb else DEFAULT_MEMORY_BYTES,
            max_text_chars=int(config.get("PDF_MAX_TEXT_CHARS") or DEFAULT_MAX_TEXT_CHARS),
        )


class _Host:
    """One render host process and the socket to it."""

    def __init__(self) -> None:
        ours, theirs = socket.socketpair()
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(PROJECT_ROOT), env.get("PYTHONPATH", "")) if p
        )
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", HOST_MODULE, str(theirs.fileno())],
                pass_fds=(theirs.fileno(),),
                stdin=subprocess.DEVNULL,
                cwd=str(PROJECT_ROOT),
                env=env,
                # Its own process group: the host and any job it forked can be killed together.
                start_new_session=True,
            )
        finally:
            theirs.close()
        self.conn = Connection(ours.detach())
        try:
            if not self.conn.poll(HOST_START_SECONDS):
                raise RenderFailed("the PDF renderer did not start in time")
            ready = self.conn.recv()
        except (EOFError, OSError) as exc:
            self.close()
            raise RenderFailed("the PDF renderer could not start") from exc
        except RenderFailed:
            self.close()
            raise
        if not (isinstance(ready, tuple) and ready[0] == "ready"):
            self.close()
            raise RenderFailed("the PDF renderer could not start")
        self.pid = ready[1]

    def call(self, request: bytes, wait_seconds: float) -> bytes:
        self.conn.send_bytes(request)
        if not self.conn.poll(wait_seconds):
            raise TimeoutError
        return self.conn.recv_bytes()

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.close()

    def alive(self) -> bool:
        return self.proc.poll() is None

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.conn.close()
        try:
            self.proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


class _Pool:
    def __init__(self) -> None:
        self.owner = os.getpid()
        self.lock = threading.Lock()
        self.slots = threading.BoundedSemaphore(max(1, MAX_HOSTS))
        self.idle: list[_Host] = []

    def run(self, request: bytes, wait_seconds: float) -> bytes:
        with self.slots:
            with self.lock:
                host = self.idle.pop() if self.idle else None
            if host is not None and not host.alive():
                host.close()
                host = None
            if host is None:
                host = _Host()
            try:
                reply = host.call(request, wait_seconds)
            except TimeoutError:
                host.kill()
                raise RenderFailed("the PDF renderer stopped answering and was restarted") from None
            except (EOFError, OSError) as exc:
                host.kill()
                raise RenderFailed("the PDF renderer stopped unexpectedly") from exc
            with self.lock:
                self.idle.append(host)
            return reply

    def close(self) -> None:
        with self.lock:
            hosts, self.idle = self.idle, []
        for host in hosts:
            host.close()


_pool: _Pool | None = None
_pool_lock = threading.Lock()


def _get_pool() -> _Pool:
    global _pool
    with _pool_lock:
        if _pool is None or _pool.owner != os.getpid():
            # A forked copy of the app must not share the parent's hosts.
            _pool = _Pool()
        return _pool


@atexit.register
def shutdown() -> None:
    """Stop the render hosts (they also stop by themselves when this process exits)."""
    if _pool is not None and _pool.owner == os.getpid():
        _pool.close()


def warm_up() -> None:
    """Start a render host now, so the first real render does not wait for it to start."""
    run_bounded(_noop, (), RenderLimits(timeout_seconds=10), what="warm-up")


def _noop() -> None:
    return None


def run_bounded(
    func: Callable[..., Any],
    args: tuple,
    limits: RenderLimits,
    *,
    what: str = "PDF render",
) -> Any:
    """Call ``func(*args)`` in a throwaway process and return its (picklable) result.

    ``func`` must be a module-level function of an importable module. Raises RenderFailed when
    the deadline passes (the process is killed), when the process dies or runs out of memory,
    or when ``func`` raises.
    """
    request = pickle.dumps((func, args, limits, what), protocol=pickle.HIGHEST_PROTOCOL)
    reply = _get_pool().run(request, limits.timeout_seconds + HOST_GRACE_SECONDS)
    status, payload = pickle.loads(reply)
    if status != "ok":
        raise RenderFailed(payload)
    return payload
