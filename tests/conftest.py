"""Shared helpers for the test suite."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

# Trees used as test input, not tests of ours (they contain their own test files).
collect_ignore_glob = ["data/*", "golden/*", "artifacts/*"]
FIXTURES = REPO / "fixtures"

if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))


@pytest.fixture
def repo() -> Path:
    return REPO
