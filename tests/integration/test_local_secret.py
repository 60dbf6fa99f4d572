"""Processes starting together on a new instance folder (gunicorn's workers, the scheduler)
all sign sessions with the same generated key.

With the key checked for and then renamed into place, about one start in seven of eight
processes ended with two keys, so a session signed by one worker was refused by another."""

from __future__ import annotations

import multiprocessing

from careplan.config import _local_secret

PROCESSES = 8
STARTS = 60


def _start(barrier, folder: str, keys) -> None:
    from pathlib import Path

    barrier.wait()
    keys.put(_local_secret(Path(folder)))


def test_processes_starting_together_share_one_generated_key(tmp_path):
    # Forked: a child started any other way imports the app (and pytest) again, 0.1 s each.
    # A child only waits at the barrier, writes files and puts its key on the queue, none of
    # which needs a lock another thread of this process could hold at the fork.
    context = multiprocessing.get_context("fork")
    for n in range(STARTS):
        folder = tmp_path / f"instance-{n}"
        barrier, keys = context.Barrier(PROCESSES), context.Queue()
        started = [
            context.Process(target=_start, args=(barrier, str(folder), keys))
            for _ in range(PROCESSES)
        ]
        for process in started:
            process.start()
        seen = {keys.get(timeout=30) for _ in started}
        for process in started:
            process.join(30)
            assert process.exitcode == 0
        kept = (folder / "secret_key").read_text().strip()
        assert seen == {kept}, f"start {n}: {len(seen)} keys"
        assert len(kept) >= 32
        assert (folder / "secret_key").stat().st_mode & 0o077 == 0
        assert [p.name for p in folder.iterdir()] == ["secret_key"]  # no key left behind
