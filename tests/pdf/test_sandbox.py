"""The sandbox every render and uploaded-file check runs in: deadlines, memory, failures."""

from __future__ import annotations

import os
import re
import socket
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from careplan.pdf import RenderFailed, RenderLimits, sandbox
from careplan.pdf.sandbox import run_bounded

from . import jobs
from .support import running


def test_a_runaway_job_is_killed_and_the_renderer_keeps_working():
    with pytest.raises(RenderFailed, match="took longer") as info:
        run_bounded(jobs.spin, (), RenderLimits(timeout_seconds=0.5))
    assert not running(int(re.search(r"process (\d+)", str(info.value)).group(1)))
    with pytest.raises(RenderFailed, match="memory"):
        run_bounded(jobs.allocate, (2048,), RenderLimits(memory_bytes=512 * 1024 * 1024))
    with pytest.raises(RenderFailed, match="ValueError: no good"):
        run_bounded(jobs.explode, (), RenderLimits())
    assert run_bounded(jobs.echo, ("still here",), RenderLimits()) == "still here"


def test_concurrent_jobs_each_get_their_own_process():
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda n: run_bounded(jobs.echo, (n,), RenderLimits()), range(8)))
    assert results == list(range(8))


def test_limits_can_come_from_configuration():
    limits = RenderLimits.from_config(
        {"PDF_RENDER_TIMEOUT_SECONDS": "12.5", "PDF_RENDER_MEMORY_MB": 700, "PDF_MAX_TEXT_CHARS": 5}
    )
    assert limits == RenderLimits(12.5, 700 * 1024 * 1024, 5)
    assert RenderLimits.from_config({}) == RenderLimits()


def test_jobs_have_no_network_where_the_kernel_allows_it():
    with socket.create_server(("127.0.0.1", 0)) as server:
        server.settimeout(0.2)
        isolated, outcome = run_bounded(jobs.connect, server.getsockname(), RenderLimits())
        if not isolated:
            pytest.skip("no network namespaces here; the URL fetcher is the only guard")
        assert outcome.startswith("refused")
        with pytest.raises(TimeoutError):
            server.accept()


def test_a_host_that_stops_answering_is_killed_with_its_jobs(monkeypatch):
    pool = sandbox._get_pool()
    run_bounded(jobs.echo, (1,), RenderLimits())  # make sure an idle host exists
    host_pid = pool.idle[-1].proc.pid
    # Make the parent give up long before the host's own deadline for the job would pass.
    monkeypatch.setattr(sandbox, "HOST_GRACE_SECONDS", -4.5)
    with pytest.raises(RenderFailed, match="stopped answering"):
        run_bounded(jobs.spin, (), RenderLimits(timeout_seconds=5))
    deadline = time.monotonic() + 5  # SIGKILL is delivered asynchronously
    while (running(host_pid) or _group_members(host_pid)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not running(host_pid)
    assert _group_members(host_pid) == []
    monkeypatch.undo()
    assert run_bounded(jobs.echo, ("new host",), RenderLimits()) == "new host"


def _group_members(pgid: int) -> list[int]:
    members = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == pgid and fields[0] not in ("Z", "X"):
                members.append(int(entry))
    return members
