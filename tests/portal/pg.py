"""A throwaway PostgreSQL cluster for the tests: initdb in a temporary directory, a Unix socket, no TCP port.

PostgreSQL refuses to run as root: as root, the data directory belongs to the ``postgres`` user and the server runs
under ``runuser -u postgres``. The cluster is stopped (and its files removed) when the test session ends.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

__all__ = ["Cluster", "find_bin", "running_cluster"]


def find_bin() -> Path | None:
    """The directory of PostgreSQL's server binaries (``OCOP_PG_BIN``, else the newest under /usr/lib/postgresql)."""
    explicit = os.environ.get("OCOP_PG_BIN")
    if explicit:
        return Path(explicit) if (Path(explicit) / "initdb").exists() else None
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parts[-3]))
    return found[-1].parent if found else None


class Cluster:
    """A running cluster reachable on a Unix socket."""

    def __init__(self, bin_dir: Path, root: Path) -> None:
        self.bin = bin_dir
        self.root = root
        self.data = root / "data"
        self.socket = root / "socket"
        self.port = 5432
        self._as_root = os.geteuid() == 0

    def _run(self, *args: str) -> None:
        cmd = [str(a) for a in args]
        if self._as_root:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        subprocess.run(cmd, check=True, capture_output=True, timeout=120)

    def start(self) -> None:
        self.root.chmod(0o755)
        for d in (self.data, self.socket):
            d.mkdir()
            if self._as_root:
                shutil.chown(d, "postgres", "postgres")
        self._run(
            self.bin / "initdb",
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-locale",
            "--no-sync",  # a throwaway cluster: nothing to keep if the machine stops
        )
        options = f"-k {self.socket} -c listen_addresses='' -p {self.port} -c fsync=off -c max_connections=200"
        self._run(
            self.bin / "pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.socket / "log"), "-w", "start"
        )

    def stop(self) -> None:
        with contextlib.suppress(subprocess.SubprocessError, OSError):
            self._run(self.bin / "pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@/{database}?host={self.socket}&port={self.port}"

    def new_database(self) -> str:
        """Create an empty database and return its URL."""
        import psycopg

        name = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(host=str(self.socket), port=self.port, user="postgres", dbname="postgres") as conn:
            conn.autocommit = True
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def empty(self, url: str) -> None:
        """Delete every row of the database at ``url`` but the schema's version, ending any session left on it."""
        import psycopg

        name = url.split("@/", 1)[1].split("?", 1)[0]
        with psycopg.connect(host=str(self.socket), port=self.port, user="postgres", dbname=name) as conn:
            conn.autocommit = True
            conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                (name,),
            )
            tables = [
                row[0]
                for row in conn.execute(
                    "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'alembic_version'"
                )
            ]
            if tables:
                names = ", ".join(f'"{t}"' for t in tables)
                conn.execute(f"TRUNCATE {names} RESTART IDENTITY CASCADE")


@contextlib.contextmanager
def running_cluster(bin_dir: Path) -> Iterator[Cluster]:
    """Start a cluster for the duration of the block."""
    root = Path(tempfile.mkdtemp(prefix="ocop-pg-"))
    cluster = Cluster(bin_dir, root)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()
        shutil.rmtree(root, ignore_errors=True)
