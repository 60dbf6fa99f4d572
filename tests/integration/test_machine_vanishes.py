"""Connections to PostgreSQL whose machine vanishes (power, network) instead of closing them.
The server must give up on them, freeing what their sessions and transactions held, within
about half a minute, not after the operating system's TCP defaults (over two hours for an
idle connection, 15 minutes with an answer in flight). The scheduler's leader is one such
connection: its standby must take over. An app server in the middle of a write is another:
every other writer waits for the audit chain's lock it holds."""

from __future__ import annotations

import secrets
import shutil
import socket
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import pytest
from sqlalchemy import text

from careplan.db.engine import (
    KEEPALIVE_COUNT,
    KEEPALIVE_IDLE,
    KEEPALIVE_INTERVAL,
    UNACKNOWLEDGED_MS,
    make_engine,
)
from careplan.reminders.scheduler import PostgresLeaderLock
from careplan.services.audit import _PG_AUDIT_LOCK
from tests.conftest import BACKEND

pytestmark = pytest.mark.skipif(BACKEND != "postgresql", reason="TCP settings of PostgreSQL's")

GIVE_UP_SECONDS = KEEPALIVE_IDLE + KEEPALIVE_INTERVAL * KEEPALIVE_COUNT  # 25
SETTINGS = {
    "tcp_keepalives_idle": KEEPALIVE_IDLE,
    "tcp_keepalives_interval": KEEPALIVE_INTERVAL,
    "tcp_keepalives_count": KEEPALIVE_COUNT,
    "tcp_user_timeout": UNACKNOWLEDGED_MS,
}


def _server_settings(conn) -> dict[str, int]:
    # libpq's keepalives are the client's; the server's own come from the session's settings,
    # which SHOW reads back from its socket.
    return {name: int(conn.execute(text(f"SHOW {name}")).scalar()) for name in SETTINGS}


def test_the_server_probes_every_connection_itself(database_url):
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            assert _server_settings(conn) == SETTINGS
    finally:
        engine.dispose()
    lock = PostgresLeaderLock(database_url, key=secrets.randbelow(2**31))
    try:
        assert lock.try_acquire()
        assert _server_settings(lock.conn) == SETTINGS
    finally:
        lock.release()


def _iptables_usable() -> bool:
    if shutil.which("iptables") is None:
        return False
    return subprocess.run(["iptables", "-S", "OUTPUT"], capture_output=True).returncode == 0


needs_iptables = pytest.mark.skipif(
    not _iptables_usable(), reason="needs iptables (as root) to cut a connection off the network"
)


@contextmanager
def cut_off(conn):
    """Nothing from `conn` reaches the server any more: not its queries, not its
    acknowledgements, not its answers to the server's probes. Its last answer has just been
    sent, so an acknowledgement may be lost in flight too, as when a machine loses power."""
    sock = socket.socket(fileno=conn.connection.dbapi_connection.fileno())
    try:
        port = sock.getsockname()[1]
    finally:
        sock.detach()
    rule = ["OUTPUT", "-p", "tcp", "-s", "127.0.0.1", "--sport", str(port), "-j", "DROP"]
    subprocess.run(["iptables", "-A", *rule], check=True)
    try:
        yield
    finally:
        subprocess.run(["iptables", "-D", *rule], check=True)


def _seconds_until(check, limit: float) -> float | None:
    started = time.monotonic()
    while time.monotonic() - started < limit:
        if check():
            return time.monotonic() - started
        time.sleep(1)
    return None


def _standby_takes_over(database_url) -> None:
    key = secrets.randbelow(2**31)
    leader = PostgresLeaderLock(database_url, key=key)
    standby = PostgresLeaderLock(database_url, key=key)
    try:
        assert leader.try_acquire()
        assert not standby.try_acquire()
        with cut_off(leader.conn), ThreadPoolExecutor(1) as leaders_check:
            # The cut-off leader finds out too (its own timeout), and stops leading: its check
            # waits for that timeout while the standby waits for the server's, at the same time.
            still_leading = leaders_check.submit(leader.still_held)
            taken = _seconds_until(standby.try_acquire, GIVE_UP_SECONDS + 30)
            assert taken is not None, "the standby never got the lock"
            assert taken <= GIVE_UP_SECONDS + 15
            assert not still_leading.result(timeout=GIVE_UP_SECONDS + 30)
    finally:
        standby.release()
        leader.release()


def _other_writers_get_the_chain(database_url) -> None:
    engine = make_engine(database_url)
    vanishing, other = engine.connect(), engine.connect()
    try:
        vanishing.begin()
        vanishing.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_AUDIT_LOCK})

        def other_writer_gets_the_chain() -> bool:
            with other.begin():
                return bool(
                    other.execute(
                        text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": _PG_AUDIT_LOCK}
                    ).scalar()
                )

        assert not other_writer_gets_the_chain()
        with cut_off(vanishing):
            waited = _seconds_until(other_writer_gets_the_chain, GIVE_UP_SECONDS + 30)
        assert waited is not None, "the chain's lock stayed with the vanished writer"
        assert waited <= GIVE_UP_SECONDS + 15
    finally:
        other.close()
        vanishing.invalidate()
        engine.dispose()


@pytest.mark.slow(seconds=40)
@needs_iptables
def test_a_vanished_leader_is_replaced_and_a_vanished_writer_lets_the_others_write(database_url):
    """The scheduler's standby takes over from a leader whose machine vanished; a writer whose
    machine vanished in the middle of a write holds up the others for about half a minute.
    Both wait for the server to give up, so they wait at the same time (cut off from
    different ports), not one after the other."""
    with ThreadPoolExecutor(2) as both:
        runs = [
            both.submit(_standby_takes_over, database_url),
            both.submit(_other_writers_get_the_chain, database_url),
        ]
        for run in runs:
            run.result(timeout=2 * (GIVE_UP_SECONDS + 30))
