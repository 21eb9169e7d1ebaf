"""A throwaway PostgreSQL server for the local backend.

One server per harness process (so one per pytest-xdist worker), created with
the system's ``initdb`` in the owner's temp root and a fresh database per test.
The postmaster is started directly as our child — not through ``pg_ctl
start``, which would detach it — so it carries the owner's labels and dies
with the owner (see ``harness.procs``). Clients reach it only through their
``<node>--postgres`` proxy links, so the database can be cut per client.

The server runs with ``fsync=off``: what the suites test is how components
survive a *database* outage (immediate stop, hang, cut), not an operating
system crash under PostgreSQL, and fsync would only slow every test down.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import signal
import subprocess
import time
from pathlib import Path

import psycopg
from psycopg import sql

from harness import procs
from harness.errors import PostgresError

SUPERUSER = "js7ha"


def answers(url: str) -> psycopg.Error | None:
    """None when the server at ``url`` answers a query; else why it did not
    (connecting may take up to 2 s)."""
    try:
        with psycopg.connect(url, connect_timeout=2, autocommit=True) as c:
            c.execute("SELECT 1")
    except psycopg.Error as exc:
        return exc
    return None


def find_bindir() -> Path:
    """The directory holding ``initdb`` and ``postgres``: ``$JS7HA_PG_BINDIR``,
    then ``pg_config --bindir``, then the newest ``/usr/lib/postgresql/*/bin``."""
    candidates: list[Path] = []
    if os.environ.get("JS7HA_PG_BINDIR"):
        candidates.append(Path(os.environ["JS7HA_PG_BINDIR"]))
    pg_config = shutil.which("pg_config")
    if pg_config:
        with contextlib.suppress(subprocess.SubprocessError, OSError):
            out = subprocess.run(
                [pg_config, "--bindir"], capture_output=True, text=True, timeout=10, check=True
            )
            candidates.append(Path(out.stdout.strip()))

    def version(p: str) -> float:
        try:
            return float(Path(p).parent.name)
        except ValueError:
            return 0.0

    candidates += [
        Path(p) for p in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=version, reverse=True)
    ]
    for c in candidates:
        if (c / "initdb").exists() and (c / "postgres").exists():
            return c
    raise PostgresError(
        "no PostgreSQL server binaries (initdb, postgres) found via $JS7HA_PG_BINDIR, "
        "pg_config --bindir or /usr/lib/postgresql/*/bin; install them, e.g. "
        "`apt-get install postgresql`"
    )


def _run_as() -> str | None:
    """initdb and postgres refuse to run as root: use an unprivileged account."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        with contextlib.suppress(KeyError):
            pwd.getpwnam(name)
            return name
    raise PostgresError("running as root and no 'postgres' or 'nobody' account to run as")


class PostgresServer:
    """``start`` → fresh ``database(name)`` per test → ``close``.

    Fault hooks for ``db_outage``: ``stop_immediate``/``start`` (crash-like
    stop and restart on the same port and data), ``pause``/``resume``
    (SIGSTOP/SIGCONT of the postmaster and every backend, so the server hangs
    with connections open).
    """

    def __init__(self, root: Path, port: int, deadline: float) -> None:
        self.root = root
        self.port = port
        self.host = "127.0.0.1"
        self.deadline = deadline
        self.datadir = root / "pgdata"
        self.log_path = root / "postgres.log"
        self.bindir = find_bindir()
        self.user = _run_as()
        self._proc: subprocess.Popen[bytes] | None = None
        self.paused = False

    @classmethod
    def start_new(cls, root: Path, port: int, deadline: float = 60.0) -> PostgresServer:
        server = cls(root, port, deadline)
        server.init()
        server.start()
        return server

    # -- lifecycle -------------------------------------------------------

    def _initdb_argv(self, datadir: Path) -> list[str]:
        return [
            str(self.bindir / "initdb"),
            "-D",
            str(datadir),
            "-U",
            SUPERUSER,
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-locale",
            "--no-sync",
            "--no-instructions",
        ]

    def _template(self) -> Path:
        """A freshly initialised, never started cluster for these binaries and
        initdb arguments, made once per machine (``initdb`` costs about a
        second; a copy of its result a tenth of that). Built under a lock and
        renamed into place whole, so concurrent workers never copy half a
        template."""
        import fcntl
        import hashlib

        key = hashlib.sha256(
            "\0".join([*self._initdb_argv(Path("-")), str(self.user)]).encode()
        ).hexdigest()[:16]
        template = procs.base_dir() / f"pg-template-{key}"
        if (template / "PG_VERSION").exists():
            return template
        with (procs.base_dir() / f"pg-template-{key}.lock").open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if (template / "PG_VERSION").exists():
                return template
            scratch = procs.base_dir() / f"pg-template-{key}.tmp-{os.getpid()}"
            shutil.rmtree(scratch, ignore_errors=True)
            scratch.mkdir(parents=True)
            if self.user:
                pw = pwd.getpwnam(self.user)
                os.chown(scratch, pw.pw_uid, pw.pw_gid)
            res = subprocess.run(
                self._initdb_argv(scratch / "pgdata"),
                capture_output=True,
                text=True,
                timeout=120,
                user=self.user,
                cwd=scratch,
                env={**os.environ, **procs.labels()},
            )
            if res.returncode != 0:
                shutil.rmtree(scratch, ignore_errors=True)
                raise PostgresError(f"initdb failed ({res.returncode}): {res.stderr[-2000:]}")
            (scratch / "pgdata").rename(template)
            shutil.rmtree(scratch, ignore_errors=True)
        return template

    def init(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        if self.user:
            pw = pwd.getpwnam(self.user)
            os.chown(self.root, pw.pw_uid, pw.pw_gid)
        # cp -a keeps the owner (the postgres user when we run as root) and
        # the modes PostgreSQL insists on (0700 on the data dir).
        res = subprocess.run(
            ["cp", "-a", str(self._template()), str(self.datadir)],
            capture_output=True,
            text=True,
            timeout=120,
        )
        if res.returncode != 0:
            raise PostgresError(f"copying the initdb template failed: {res.stderr[-2000:]}")

    def start(self) -> None:
        if self.running:
            return
        argv = [
            str(self.bindir / "postgres"),
            "-D",
            str(self.datadir),
            "-p",
            str(self.port),
            "-c",
            f"listen_addresses={self.host}",
            "-c",
            "unix_socket_directories=",
            "-c",
            "fsync=off",
            "-c",
            "full_page_writes=off",
            "-c",
            "max_connections=300",
            "-c",
            "shared_buffers=32MB",
            "-c",
            "log_min_messages=warning",
            "-c",
            "timezone=UTC",
        ]
        log_path = self.log_path
        if self.user:
            log_path.touch()
            pw = pwd.getpwnam(self.user)
            os.chown(log_path, pw.pw_uid, pw.pw_gid)
        self._proc = procs.spawn(argv, log_path=log_path, cwd=self.root, user=self.user)
        self.paused = False
        self.wait_ready(self.deadline)

    def wait_ready(self, deadline: float) -> None:
        end = time.monotonic() + deadline
        last: Exception | None = None
        while time.monotonic() < end:
            if self._proc is not None and self._proc.poll() is not None:
                raise PostgresError(
                    f"postgres exited with {self._proc.returncode}: {self.log_tail()}"
                )
            last = answers(self.admin_url())
            if last is None:
                return
            time.sleep(0.05)
        raise PostgresError(f"postgres not ready after {deadline}s: {last}\n{self.log_tail()}")

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self.running and self._proc else None

    def _signal(self, sig: int) -> None:
        if self._proc is not None and self._proc.poll() is None:
            os.kill(self._proc.pid, sig)

    def stop(self, mode: str = "fast", timeout: float = 30.0) -> None:
        """``fast`` (SIGINT: roll back and exit cleanly) or ``immediate``
        (SIGQUIT: exit at once, recovery on next start — like a crash)."""
        if self._proc is None:
            return
        if self.paused:
            self.resume()
        self._signal(
            {"fast": signal.SIGINT, "immediate": signal.SIGQUIT, "smart": signal.SIGTERM}[mode]
        )
        try:
            self._proc.wait(timeout)
        except subprocess.TimeoutExpired:
            procs.signal_group(self._proc.pid, signal.SIGKILL)
            self._proc.wait(10)
        self._proc = None

    def stop_immediate(self) -> None:
        self.stop("immediate")

    def _server_pids(self) -> list[int]:
        """The postmaster and every process it forked. A signal to its process
        group is not enough: PostgreSQL puts each backend in a session of its
        own (setsid), so open connections would go on being served."""
        assert self._proc is not None
        root = self._proc.pid
        pids = [root]
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            try:
                stat = Path(entry.path, "stat").read_text()
            except OSError:
                continue
            if int(stat[stat.rindex(")") + 2 :].split()[1]) == root:
                pids.append(int(entry.name))
        return pids

    def _signal_all(self, sig: int) -> None:
        for pid in self._server_pids():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)

    def pause(self) -> None:
        """Freeze the whole server: the postmaster and all its backends, so
        new connections *and* open ones hang."""
        if self._proc is None or self.paused:
            return
        self._signal_all(signal.SIGSTOP)
        self.paused = True

    def resume(self) -> None:
        if self._proc is None or not self.paused:
            return
        self._signal_all(signal.SIGCONT)
        self.paused = False

    def close(self) -> None:
        """Stop the server and delete its data. Safe to call twice."""
        with contextlib.suppress(Exception):
            self.stop("immediate", timeout=10)
        shutil.rmtree(self.root, ignore_errors=True)

    # -- databases -------------------------------------------------------

    def admin_url(self) -> str:
        return self.url("postgres")

    def url(self, dbname: str, host: str | None = None, port: int | None = None) -> str:
        return (
            f"postgresql://{SUPERUSER}@{host or self.host}:{port or self.port}/{dbname}"
            "?application_name=js7ha"
        )

    def create_database(self, name: str) -> str:
        with psycopg.connect(self.admin_url(), autocommit=True, connect_timeout=10) as c:
            c.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
            c.execute(sql.SQL("CREATE DATABASE {} TEMPLATE template0").format(sql.Identifier(name)))
        return name

    def drop_database(self, name: str) -> None:
        if not self.running or self.paused:
            return
        with psycopg.connect(self.admin_url(), autocommit=True, connect_timeout=10) as c:
            c.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""
