"""The scheduler's leader on PostgreSQL when its machine vanishes (power, network), rather than
its process dying: the server must give up on the leader's connection, freeing the advisory
lock for a standby, within about half a minute, not after the operating system's TCP defaults
(over two hours for an idle connection, 15 minutes with an answer in flight)."""

from __future__ import annotations

import secrets
import shutil
import socket
import subprocess
import time

import pytest
from sqlalchemy import text

from careplan.reminders.scheduler import (
    KEEPALIVE_COUNT,
    KEEPALIVE_IDLE,
    KEEPALIVE_INTERVAL,
    UNACKNOWLEDGED_MS,
    PostgresLeaderLock,
)
from tests.conftest import BACKEND

pytestmark = pytest.mark.skipif(BACKEND != "postgresql", reason="the advisory lock is PostgreSQL's")

GIVE_UP_SECONDS = KEEPALIVE_IDLE + KEEPALIVE_INTERVAL * KEEPALIVE_COUNT  # 25


def _server_setting(lock: PostgresLeaderLock, name: str) -> int:
    return int(lock.conn.execute(text(f"SHOW {name}")).scalar())


def test_the_server_probes_the_leaders_connection_itself(database_url):
    # libpq's keepalives are the client's; the server's own come from the session's settings,
    # which SHOW reads back from its socket.
    lock = PostgresLeaderLock(database_url, key=secrets.randbelow(2**31))
    try:
        assert lock.try_acquire()
        assert _server_setting(lock, "tcp_keepalives_idle") == KEEPALIVE_IDLE
        assert _server_setting(lock, "tcp_keepalives_interval") == KEEPALIVE_INTERVAL
        assert _server_setting(lock, "tcp_keepalives_count") == KEEPALIVE_COUNT
        assert _server_setting(lock, "tcp_user_timeout") == UNACKNOWLEDGED_MS
    finally:
        lock.release()


def _iptables_usable() -> bool:
    if shutil.which("iptables") is None:
        return False
    return subprocess.run(["iptables", "-S", "OUTPUT"], capture_output=True).returncode == 0


@pytest.mark.slow(seconds=55)
@pytest.mark.skipif(
    not _iptables_usable(), reason="needs iptables (as root) to cut the leader off the network"
)
def test_a_standby_takes_over_when_the_leaders_machine_vanishes(database_url):
    key = secrets.randbelow(2**31)
    leader = PostgresLeaderLock(database_url, key=key)
    standby = PostgresLeaderLock(database_url, key=key)
    assert leader.try_acquire()
    assert not standby.try_acquire()
    sock = socket.socket(fileno=leader.conn.connection.dbapi_connection.fileno())
    try:
        port = sock.getsockname()[1]
    finally:
        sock.detach()
    # Nothing from the leader's connection reaches the server any more: not its queries, not
    # its acknowledgements, not its answers to the server's probes. Its last answer was just
    # sent, so an acknowledgement may be lost in flight too, as when a machine loses power.
    rule = ["OUTPUT", "-p", "tcp", "-s", "127.0.0.1", "--sport", str(port), "-j", "DROP"]
    subprocess.run(["iptables", "-A", *rule], check=True)
    started = time.monotonic()
    try:
        taken = None
        while time.monotonic() - started < GIVE_UP_SECONDS + 30:
            if standby.try_acquire():
                taken = time.monotonic() - started
                break
            time.sleep(1)
        assert taken is not None, "the standby never got the lock"
        assert taken <= GIVE_UP_SECONDS + 15
        # The cut-off leader finds out too (its own timeout), and stops leading.
        assert not leader.still_held()
    finally:
        subprocess.run(["iptables", "-D", *rule], check=True)
        standby.release()
        leader.release()
