"""The pooled path of the engine gives exactly what the sequential path gives.

A cold run over 500+ files forks worker processes before reading; each reads,
searches and extracts its own share of the files, for every round of alias
discovery and for the caller search. Lowering that threshold lets a small tree
take the same path; its result must equal a one-job run.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from migrator import engine
from migrator.config import Config
from migrator.engine import analyse
from migrator.rules import load_rule_set
from tests.conftest import FIXTURES


def _tree(tmp_path: Path) -> Path:
    root = tmp_path / "tree"
    shutil.copytree(FIXTURES / "audit", root / "audit")
    shutil.copytree(
        FIXTURES / "legacy_app", root / "legacy_app", ignore=shutil.ignore_patterns("__pycache__")
    )
    return root


def _summary(root: Path, jobs: int, cache: bool) -> tuple[object, ...]:
    result = analyse(
        Config(root=root, jobs=jobs, cache=cache), load_rule_set([]), [str(root)]
    ).result
    return (
        result.files_analysed,
        [f.to_json() for f in result.findings],
        [e.to_json() for e in result.errors],
        [a.to_json() for a in result.aliases],
        result.warnings,
    )


@pytest.mark.parametrize("cache", [False, True], ids=["no-cache", "cold-cache"])
def test_pooled_run_equals_sequential_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cache: bool
) -> None:
    root = _tree(tmp_path)
    sequential = _summary(root, jobs=1, cache=False)
    monkeypatch.setattr(engine, "_WORKER_STORE_FILES", 1)
    pooled = _summary(root, jobs=2, cache=cache)
    assert pooled == sequential
    assert (
        len(sequential[1]) > 150
    )  # the audit corpus and the app: many sites, several alias rounds
    if cache:
        assert _summary(root, jobs=2, cache=True) == sequential  # and warm from that cache
