"""`make lint` holds the layering: an import against the picture, or httpx outside the Okta
client, fails it. Each test copies the source packages and the project's configuration to a
scratch directory, adds one bad line, and runs the same tools `make lint` runs."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = (
    "gatehouse",
    "api",
    "assistant",
    "reviews",
    "identity",
    "chat",
    "approvals",
    "accounts",
    "okta",
    "audit",
    "core",
)
BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def source_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    where = tmp_path_factory.mktemp("layering")
    for package in PACKAGES:
        shutil.copytree(
            ROOT / package,
            where / package,
            ignore=shutil.ignore_patterns("__pycache__", "static", "templates"),
        )
    shutil.copy(ROOT / "pyproject.toml", where / "pyproject.toml")
    return where


def _lint_imports(where: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "lint-imports"), "--no-cache"],
        cwd=where,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": str(BIN), "PYTHONPATH": str(where)},
    )


def _probe(where: Path, module: str, line: str) -> Path:
    path = where / module
    path.write_text(f"{line}\n")
    return path


def test_the_layers_hold_as_committed(source_copy: Path) -> None:
    result = _lint_imports(source_copy)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "line", "named"),
    [
        ("okta/_probe.py", "import approvals.models", "okta._probe -> approvals.models"),
        ("audit/_probe.py", "from okta import models", "audit._probe -> okta.models"),
        ("core/_probe.py", "import accounts.roles", "core._probe -> accounts.roles"),
        ("identity/_probe.py", "import reviews.models", "identity._probe -> reviews.models"),
        ("approvals/_probe.py", "import gatehouse.celery", "approvals._probe -> gatehouse.celery"),
    ],
)
def test_an_import_against_the_picture_fails_lint(
    source_copy: Path, module: str, line: str, named: str
) -> None:
    probe = _probe(source_copy, module, line)
    try:
        result = _lint_imports(source_copy)
    finally:
        probe.unlink()
    assert result.returncode == 1, result.stdout + result.stderr
    assert "1 broken" in result.stdout
    assert named in result.stdout


def _ruff(where: Path, path: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "ruff"), "check", "--no-cache", "--select", "TID251", path],
        cwd=where,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_httpx_outside_the_client_fails_lint(source_copy: Path) -> None:
    probe = _probe(source_copy, "identity/_probe.py", "import httpx")
    try:
        result = _ruff(source_copy, "identity/_probe.py")
    finally:
        probe.unlink()
    assert result.returncode == 1, result.stdout + result.stderr
    assert "TID251" in result.stdout
    assert "`httpx` is banned" in result.stdout


def test_httpx_in_the_client_passes_lint(source_copy: Path) -> None:
    result = _ruff(source_copy, "okta/client.py")
    assert result.returncode == 0, result.stdout + result.stderr
