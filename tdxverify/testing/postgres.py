"""A throwaway PostgreSQL cluster on 127.0.0.1, for tests of the attestation history.

:class:`TempPostgres` runs Debian's (or any) ``initdb`` / ``pg_ctl`` in a fresh
temporary directory on a free port, as an unprivileged user (PostgreSQL
refuses to run as root: as root the cluster runs as ``postgres`` through
``runuser``), and removes everything on :meth:`~TempPostgres.stop`. Nothing
here touches a system cluster. Needs the server binaries (``apt-get install
postgresql``; ``.ci/postgres.sh``) and, to create databases, the ``history`` extra.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from pathlib import Path
from types import TracebackType

__all__ = ["PostgresUnavailable", "TempPostgres", "create_database", "create_schema", "find_bindir"]

BINDIR_ENV = "TDXVERIFY_PG_BINDIR"


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL server could be started here (the message says why)."""


def _version_key(path: str) -> tuple[int, ...]:
    name = Path(path).parent.name
    return tuple(int(p) for p in name.split(".") if p.isdigit())


def find_bindir() -> Path | None:
    """``$TDXVERIFY_PG_BINDIR``, the newest ``/usr/lib/postgresql/*/bin``, or the directory of ``initdb`` on PATH."""
    explicit = os.environ.get(BINDIR_ENV)
    if explicit:
        return Path(explicit)
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=_version_key)
    if found:
        return Path(found[-1]).parent
    on_path = shutil.which("initdb")
    return Path(on_path).parent if on_path else None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class TempPostgres:
    """A PostgreSQL cluster of its own: ``with TempPostgres() as pg: pg.url``."""

    def __init__(self, bindir: Path | None = None, user: str = "postgres") -> None:
        self.bindir = bindir or find_bindir()
        self.run_as = user if os.geteuid() == 0 else None
        self.dir: Path | None = None
        self.port = 0
        self._started = False

    @property
    def url(self) -> str:
        """SQLAlchemy URL of the ``postgres`` database, superuser ``postgres``, trust auth on 127.0.0.1."""
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _cmd(self, *args: str) -> list[str]:
        return ["runuser", "-u", self.run_as, "--", *args] if self.run_as else list(args)

    def _run(self, *args: str, timeout: float = 120) -> None:
        try:
            done = subprocess.run(self._cmd(*args), capture_output=True, text=True, timeout=timeout, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise PostgresUnavailable(f"{Path(args[0]).name} could not run: {exc}") from None
        if done.returncode != 0:
            log = self._log_tail()
            raise PostgresUnavailable(
                f"{Path(args[0]).name} exited {done.returncode}: {(done.stderr or done.stdout).strip()[-800:]}{log}"
            )

    def _log_tail(self) -> str:
        log = self.dir / "server.log" if self.dir else None
        if log and log.is_file():
            return "\nserver log:\n" + log.read_text(errors="replace")[-800:]
        return ""

    def start(self) -> TempPostgres:
        """initdb + pg_ctl start; raises :class:`PostgresUnavailable` with the reason when it cannot."""
        if self.bindir is None or not (self.bindir / "initdb").is_file():
            raise PostgresUnavailable(
                "no PostgreSQL server binaries (initdb, pg_ctl): install Debian's package (bash .ci/postgres.sh) "
                f"or set {BINDIR_ENV}"
            )
        self.dir = Path(tempfile.mkdtemp(prefix="tdxverify-pg-"))
        try:
            if self.run_as:
                try:
                    owner = pwd.getpwnam(self.run_as)
                except KeyError:
                    raise PostgresUnavailable(
                        f"running as root and there is no {self.run_as!r} user to run PostgreSQL as"
                    ) from None
                os.chown(self.dir, owner.pw_uid, owner.pw_gid)
            data = self.dir / "data"
            self._run(
                str(self.bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync"
            )
            self.port = _free_port()
            options = (
                f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.dir} "
                "-c fsync=off -c full_page_writes=off -c max_connections=60"
            )
            log = str(self.dir / "server.log")
            self._run(str(self.bindir / "pg_ctl"), "-D", str(data), "-l", log, "-w", "-t", "60", "-o", options, "start")
            self._started = True
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop the server and remove its directory (idempotent)."""
        if self.dir is None:
            return
        if self._started and self.bindir is not None:
            subprocess.run(
                self._cmd(str(self.bindir / "pg_ctl"), "-D", str(self.dir / "data"), "-m", "immediate", "-w", "stop"),
                capture_output=True,
                timeout=60,
                check=False,
            )
            self._started = False
        shutil.rmtree(self.dir, ignore_errors=True)
        self.dir = None

    def __enter__(self) -> TempPostgres:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def create_database(admin_url: str, prefix: str = "tdxverify_test") -> str:
    """Create a fresh, uniquely named database through ``admin_url``; returns its URL."""
    import sqlalchemy as sa

    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    engine = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    finally:
        engine.dispose()
    return sa.engine.make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def create_schema(admin_url: str, prefix: str = "tdxverify_test") -> str:
    """Create a fresh, uniquely named schema through ``admin_url``; returns a URL whose search path is it.

    Much cheaper than a database per test (no template copy): unqualified
    table names then land in, and are looked up in, that schema only.
    """
    import sqlalchemy as sa

    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    engine = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql(f'CREATE SCHEMA "{name}"')
    finally:
        engine.dispose()
    url = sa.engine.make_url(admin_url)
    return url.update_query_dict({"options": f"-csearch_path={name}"}).render_as_string(hide_password=False)
