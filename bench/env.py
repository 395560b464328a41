"""The benchmark's own environment: a database, a var dir, settings, and child processes.

Everything the harness runs (this process, the sync child, gunicorn, the Celery worker) reads
the same environment variables, set here before Django is imported:

- PostgreSQL when ``DATABASE_URL`` names one: the benchmark uses ``<name>_bench`` beside it,
  dropped and created afresh each run; otherwise SQLite in ``var/bench/bench.sqlite3``. With
  ``reuse`` the database of the previous run is kept (and migrated), for ``--reuse``.
- Redis when ``REDIS_URL`` / ``CELERY_BROKER_URL`` are set, with a cache key prefix of its own;
  otherwise the embedded defaults (database cache, filesystem broker under ``var/bench/var``).
- Production-style settings: ``DEBUG`` off, a random ``SECRET_KEY``, plain-HTTP cookies.
"""

from __future__ import annotations

import base64
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

BASE_DIR = Path(__file__).resolve().parent.parent
# GATEHOUSE_BENCH_DIR moves the benchmark's files (the smoke test runs in a temporary dir).
BENCH_DIR = Path(os.environ.get("GATEHOUSE_BENCH_DIR") or BASE_DIR / "var" / "bench")
SANDBOX_TOKEN = "bench-sandbox-token"  # the local sandbox only


@dataclass
class BenchEnv:
    quick: bool
    database: str  # "postgresql" or "sqlite"
    database_url: str
    broker: str  # "redis" or "filesystem"
    cache: str  # "redis" or "database"
    var_dir: Path
    variables: dict[str, str] = field(default_factory=dict)
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def child_env(self, **extra: str) -> dict[str, str]:
        return {**os.environ, **self.variables, **extra}

    def popen(
        self, args: Sequence[str], *, log_name: str, **extra_env: str
    ) -> subprocess.Popen[bytes]:
        """Start a long-lived helper (sandbox, gunicorn, worker) in its own process group."""
        log = (BENCH_DIR / "logs" / f"{log_name}.log").open("ab")
        process = subprocess.Popen(
            list(args),
            cwd=BASE_DIR,
            env=self.child_env(**extra_env),
            stdout=subprocess.PIPE,
            stderr=log,
            start_new_session=True,
        )
        log.close()
        self.processes.append(process)
        return process

    def stop(self, process: subprocess.Popen[bytes], timeout: float = 15.0) -> None:
        if process.poll() is None:
            with _suppress_lookup():
                os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                with _suppress_lookup():
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        if process.stdout:
            process.stdout.close()
        if process in self.processes:
            self.processes.remove(process)

    def stop_all(self) -> None:
        for process in reversed(list(self.processes)):
            self.stop(process)

    def manage(self, *args: str, timeout: float = 900.0) -> str:
        """Run ``manage.py`` with the benchmark's environment; returns its stdout."""
        result = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=BASE_DIR,
            env=self.child_env(),
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if result.returncode != 0:
            raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stderr[-4000:]}")
        return result.stdout


class _suppress_lookup:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> bool:
        return exc[0] is not None and issubclass(exc[0], ProcessLookupError)  # type: ignore[arg-type]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _fernet_key() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()


def _postgres_bench_url(url: str) -> str:
    parts = urlsplit(url)
    name = parts.path.lstrip("/") or "gatehouse"
    if not name.endswith("_bench"):
        name += "_bench"
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


def _recreate_postgres(url: str) -> None:
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = urlunsplit((parts.scheme, parts.netloc, "/postgres", parts.query, ""))
    admin = admin.replace("postgresql+psycopg://", "postgresql://").replace(
        "postgres://", "postgresql://"
    )
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def prepare(*, quick: bool, reuse: bool = False) -> BenchEnv:
    """Set this process's environment for the benchmark and give a fresh, migrated database
    (with ``reuse``, the previous run's database, migrated)."""
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    (BENCH_DIR / "logs").mkdir(exist_ok=True)
    var_dir = BENCH_DIR / "var"
    if var_dir.exists():
        # Keep collected static files between runs; the rest (queues, schedules) starts empty.
        for child in var_dir.iterdir():
            if child.name != "static":
                shutil.rmtree(child) if child.is_dir() else child.unlink()
    var_dir.mkdir(exist_ok=True)
    for log in (BENCH_DIR / "logs").iterdir():
        log.unlink()

    configured = os.environ.get("DATABASE_URL", "")
    if configured.startswith(("postgres://", "postgresql://", "pgsql://")):
        database, database_url = "postgresql", _postgres_bench_url(configured)
        if not reuse:
            _recreate_postgres(database_url)
    else:
        database = "sqlite"
        db_file = BENCH_DIR / "bench.sqlite3"
        for suffix in ("", "-wal", "-shm"):
            if not reuse:
                Path(f"{db_file}{suffix}").unlink(missing_ok=True)
        database_url = f"sqlite:///{db_file}"

    variables = {
        "DATABASE_URL": database_url,
        "GATEHOUSE_VAR_DIR": str(var_dir),
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "FIELD_ENCRYPTION_KEYS": _fernet_key(),
        "ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
        "SECURE_COOKIES": "0",
        "SECURE_SSL_REDIRECT": "0",
        "LOG_LEVEL": "WARNING",
        "EMAIL_BACKEND": "django.core.mail.backends.dummy.EmailBackend",
        "CACHE_KEY_PREFIX": f"gatehouse-bench-{os.getpid()}",
        # A queue of its own: a worker of the test suite or the demo on the same broker must not
        # take the benchmark's operations (it would run them against another database).
        "CELERY_QUEUE": f"gatehouse-bench-{os.getpid()}",
        "OKTA_API_TOKEN": SANDBOX_TOKEN,
        "DJANGO_SETTINGS_MODULE": "gatehouse.settings",
        "PYTHONUNBUFFERED": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    os.environ.update(variables)
    env = BenchEnv(
        quick=quick,
        database=database,
        database_url=database_url,
        broker="redis"
        if os.environ.get("CELERY_BROKER_URL", "").startswith("redis")
        else "filesystem",
        cache="redis" if os.environ.get("REDIS_URL") else "database",
        var_dir=var_dir,
        variables=variables,
    )
    env.manage("migrate", "--noinput")
    if env.cache == "database":
        env.manage("createcachetable")
    env.manage("collectstatic", "--noinput")  # quick when nothing changed
    return env


def wait_for(predicate: object, timeout: float, what: str, interval: float = 0.1) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if callable(predicate) and predicate():
            return
        time.sleep(interval)
    raise RuntimeError(f"timed out after {timeout:.0f} s waiting for {what}")
