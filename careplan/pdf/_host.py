"""The render host: a small, single-threaded helper process that forks one throwaway process per
job. Started by careplan.pdf.sandbox as ``python -m careplan.pdf._host FD``.

It imports WeasyPrint and pyHanko and renders a sample document once, so every job it forks
starts warm (a fork takes milliseconds; a fresh interpreter would take seconds). For each job it:

1. forks a child, which leaves the network (an empty network namespace, where the kernel
   allows it), lowers its own limits (address space, CPU time, file size), runs the job and
   writes the pickled result to a pipe;
2. reads that pipe until the deadline, kills the child with SIGKILL when the deadline passes or
   the result is too large, reaps it, and removes the job's temporary folder;
3. sends the parent either the child's result bytes or an error it builds itself; after a
   result it then kills and reaps the child and removes its folder, before the next job.

The host never unpickles what a child wrote; the parent does. The host stays single-threaded,
so forking it is safe.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import mmap
import os
import pickle
import resource
import select
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Callable
from multiprocessing.connection import Connection

CLONE_NEWUSER = 0x10000000
CLONE_NEWNET = 0x40000000
ISOLATED_ENV = "CAREPLAN_PDF_NETWORK_ISOLATED"
MAX_RESULT_BYTES = 512 * 1024 * 1024
MEMORY_HEADROOM_BYTES = 8 * 1024 * 1024  # a job that cannot get this much more is out of memory
MAX_WRITTEN_FILE_BYTES = 64 * 1024 * 1024  # WeasyPrint's temporary font copies; nothing else


def _error(message: str) -> bytes:
    return pickle.dumps(("error", message))


def _describe(status: int) -> str:
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        try:
            name = signal.Signals(sig).name
        except ValueError:
            name = str(sig)
        return f"killed by {name}"
    return f"exit code {os.WEXITSTATUS(status)}"


def _isolate_network() -> bool:
    """Best effort: move this process into an empty network namespace (Linux), so it cannot
    reach any host, not even localhost, whatever it is tricked into trying. Needs either
    CAP_SYS_ADMIN or unprivileged user namespaces; without them the URL fetcher still refuses
    every request."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
    except OSError:
        return False
    return any(libc.unshare(flags) == 0 for flags in (CLONE_NEWNET, CLONE_NEWUSER | CLONE_NEWNET))


def _child(func, args, limits, what: str, tmpdir: str, write_fd: int, control_fd: int) -> None:
    """In the forked child: never returns."""
    try:
        os.close(control_fd)  # the child cannot talk to the parent, only answer through the pipe
        if _isolate_network():
            os.environ[ISOLATED_ENV] = "1"
        memory = int(limits.memory_bytes)
        cpu = max(1, int(limits.timeout_seconds + 0.999)) + 1
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
        resource.setrlimit(resource.RLIMIT_FSIZE, (MAX_WRITTEN_FILE_BYTES,) * 2)
        os.environ["TMPDIR"] = tmpdir
        tempfile.tempdir = tmpdir
        try:
            payload = pickle.dumps(("ok", func(*args)), protocol=pickle.HIGHEST_PROTOCOL)
        except MemoryError:
            payload = _error(f"{what} ran out of memory (limit {memory >> 20} MB)")
        except BaseException as exc:  # noqa: BLE001 - reported to the parent
            if _at_memory_limit():
                # C libraries report a refused allocation in their own ways.
                payload = _error(f"{what} ran out of memory (limit {memory >> 20} MB)")
            else:
                payload = _error(f"{what} failed: {type(exc).__name__}: {str(exc)[:300]}")
        view = memoryview(payload)
        while view:
            written = os.write(write_fd, view)
            view = view[written:]
        # The host answers on end of file; closing now sends that before the kernel spends
        # its time tearing down this process's memory.
        os.close(write_fd)
    finally:
        os._exit(0)


def _at_memory_limit() -> bool:
    """Whether the address space cannot grow by the headroom (a fresh mapping, never memory
    the allocator happens to have free)."""
    try:
        mmap.mmap(-1, MEMORY_HEADROOM_BYTES).close()
    except OSError:
        return True
    return False


def run_job(func, args, limits, what: str, control_fd: int) -> tuple[bytes, Callable[[], None]]:
    """Run one job; return the reply and what is left to do once it has been sent (killing and
    reaping the child, removing its folder), so the caller is not kept waiting for that."""
    tmpdir = tempfile.mkdtemp(prefix="careplan-pdf-")
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_fd)
        _child(func, args, limits, what, tmpdir, write_fd, control_fd)
    os.close(write_fd)
    chunks: list[bytes] = []
    size = 0
    problem = ""
    deadline = time.monotonic() + limits.timeout_seconds
    try:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                problem = f"{what} took longer than {limits.timeout_seconds:g} s and was stopped"
                break
            ready, _, _ = select.select([read_fd], [], [], remaining)
            if not ready:
                continue
            chunk = os.read(read_fd, 1 << 20)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
            if size > MAX_RESULT_BYTES:
                problem = f"{what} produced more than {MAX_RESULT_BYTES >> 20} MB and was stopped"
                break
    finally:
        os.close(read_fd)

    def finish() -> int:
        # A child that closed its end has nothing left to do: whatever it is doing, it ends now.
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
        shutil.rmtree(tmpdir, ignore_errors=True)
        return status

    if problem:
        finish()
        return _error(f"{problem} (process {pid})"), lambda: None
    if not chunks:
        status = finish()
        return _error(
            f"{what} stopped unexpectedly ({_describe(status)}, process {pid}); it may have "
            f"gone over its memory limit of {int(limits.memory_bytes) >> 20} MB"
        ), lambda: None
    return b"".join(chunks), finish


def serve(control_fd: int) -> None:
    conn = Connection(control_fd)
    # The parent decides when work stops; Ctrl-C in a terminal is for the parent to handle.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    from . import _preload  # noqa: F401 - loads and warms up WeasyPrint and pyHanko

    # Keep what is loaded now out of the garbage collector's sight, so forked jobs share those
    # memory pages with the host instead of copying them.
    gc.collect()
    gc.freeze()

    conn.send(("ready", os.getpid()))
    while True:
        try:
            raw = conn.recv_bytes()
        except (EOFError, OSError):
            return
        try:
            func, args, limits, what = pickle.loads(raw)
        except Exception as exc:  # noqa: BLE001 - a bad request must not stop the host
            conn.send_bytes(_error(f"bad request to the PDF renderer: {type(exc).__name__}"))
            continue
        reply, finish = run_job(func, args, limits, what, control_fd)
        try:
            conn.send_bytes(reply)
        finally:
            finish()


if __name__ == "__main__":
    serve(int(sys.argv[1]))
