"""A network path to the database that goes silent: packets dropped, no refusal, no reset.

A proxy in user space cannot stage this (its kernel acknowledges whatever it is sent), so
the test runs in a network namespace of its own (``unshare -rn``, no privileges needed
where user namespaces are allowed), whose loopback device drops every packet on demand.
The database reaches it through a Unix socket, which no network namespace separates.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

from psycopg.conninfo import conninfo_to_dict, make_conninfo

from tests.support.proxy import connect_to, pipe

OUTER_NAMESPACE = "ZALODESK_TEST_OUTER_NETNS"
DROP_ALL = ["tc", "qdisc", "add", "dev", "lo", "root", "pfifo", "limit", "0"]
RESTORE = ["tc", "qdisc", "del", "dev", "lo", "root"]


def namespace_id() -> int:
    return os.stat("/proc/self/ns/net").st_ino


def own_namespaces_available() -> bool:
    """Whether this machine lets us make a network namespace and drop its packets."""
    if not all(shutil.which(tool) for tool in ("unshare", "ip", "tc")):
        return False
    probe = subprocess.run(
        ["unshare", "-rn", "sh", "-c", "ip link set lo up && " + " ".join(DROP_ALL)],
        capture_output=True,
        check=False,
    )
    return probe.returncode == 0


def in_own_namespace() -> list[str]:
    """The command prefix that runs a command in a new network namespace, loopback up."""
    return ["unshare", "-rn", "sh", "-c", 'ip link set lo up && exec "$@"', "sh"]


def inside_own_namespace() -> bool:
    outer = os.environ.get(OUTER_NAMESPACE)
    return bool(outer) and int(outer or 0) != namespace_id()


@contextlib.contextmanager
def silence() -> Iterator[None]:
    """Every packet on this namespace's loopback dropped, until the block ends."""
    assert inside_own_namespace(), "only ever in a network namespace of the test's own"
    subprocess.run(DROP_ALL, check=True)
    try:
        yield
    finally:
        subprocess.run(RESTORE, check=True)


class UnixRelay:
    """The database server at a Unix socket path, for a process in another namespace."""

    def __init__(self, url: str, folder: Path) -> None:
        self.params = conninfo_to_dict(url)
        self.folder = folder
        self.listener = socket.socket(socket.AF_UNIX)
        self.listener.bind(str(folder / ".s.PGSQL.5432"))
        self.listener.listen()
        threading.Thread(target=self._accept, daemon=True).start()

    def server_url(self) -> str:
        """The server's URL through the relay, on its maintenance database."""
        params = {**self.params, "host": str(self.folder), "port": 5432, "dbname": "postgres"}
        return make_conninfo("", **params)

    def close(self) -> None:
        self.listener.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = connect_to(self.params)
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=pipe, args=(a, b), daemon=True).start()
