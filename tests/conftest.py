"""Shared helpers for the test suite."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

# Trees used as test input, not tests of ours (they contain their own test files).
collect_ignore_glob = ["data/*", "golden/*", "artifacts/*"]
FIXTURES = REPO / "fixtures"


def _real_sources() -> list[Path]:
    """The fixtures and two real packages: input for tests that compare two readers."""
    import _pytest
    import rich

    found = sorted(FIXTURES.rglob("*.py"))
    for package in (_pytest, rich):
        found.extend(sorted(Path(package.__file__).parent.rglob("*.py")))
    return found


REAL_SOURCES = _real_sources()


def source_id(path: Path) -> str:
    return "/".join(path.parts[-3:])


if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))


@pytest.fixture(autouse=True)
def _user_cache_folder(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The facts cache's key lives in the user's cache folder: a private one for the tests."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.getbasetemp() / "user-cache"))


@pytest.fixture
def repo() -> Path:
    return REPO
