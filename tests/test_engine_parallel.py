"""The pooled path of the engine gives exactly what the sequential path gives.

A cold run over 500+ files forks worker processes before reading; each reads,
searches and extracts its own share of the files, for every round of alias
discovery and for the caller search. Lowering that threshold lets a small tree
take the same path; its result must equal a one-job run.
"""

from __future__ import annotations

import shutil
import sys
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


def test_deep_nesting_gets_the_same_verdict_in_a_worker(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Workers are forked deep inside discovery; extraction has a frame budget of its own."""
    root = tmp_path / "tree"
    root.mkdir()
    for index in range(30):
        (root / f"plain_{index}.py").write_text("x = 1\n")
    terms = " + ".join(["a"] * 940)
    (root / "deep.py").write_text(
        "from netra_backend.app.agents.tool_dispatcher import ToolDispatcher\n"
        f"d = ToolDispatcher()\nx = {terms}\n"
    )
    sequential = _summary(root, jobs=1, cache=False)
    monkeypatch.setattr(engine, "_WORKER_STORE_FILES", 1)
    pooled = _summary(root, jobs=2, cache=False)
    assert pooled == sequential
    assert sequential[2] == [] and len(sequential[1]) == 1  # analysed, not refused


def test_how_deep_a_file_may_nest_does_not_depend_on_the_callers_stack() -> None:
    """The largest expression analysable from a shallow stack is analysable 150 frames deeper."""
    from migrator import extract as extract_module
    from migrator.extract import ExtractionError, extract

    def verdict(text: str, extra_frames: int) -> str:
        if extra_frames:
            return verdict(text, extra_frames - 1)
        try:
            extract(text, "m.py", "m", False, frozenset({"ToolDispatcher"}))
        except ExtractionError as error:
            return str(error)
        return "ok"

    def chain(terms: int) -> str:
        return "x = " + " + ".join(["a"] * terms) + "\n"

    # CPython 3.11+ builds about three levels of tree per frame of the budget; 3.10's
    # parser uses fewer frames per level, so the limit is searched for, not assumed.
    low, high = 3 * extract_module._FRAME_BUDGET - 120, 12 * extract_module._FRAME_BUDGET
    assert verdict(chain(low), 0) == "ok"
    if verdict(chain(high), 0) == "ok":
        # 3.10's parser reads a flat chain without recursing: no budget binds, and from
        # deeper in the stack the verdict is the same.
        assert sys.version_info < (3, 11)
        assert verdict(chain(high), 150) == "ok"
        return
    while high - low > 10:
        middle = (low + high) // 2
        low, high = (middle, high) if verdict(chain(middle), 0) == "ok" else (low, middle)
    largest = low
    assert verdict(chain(largest), 150) == "ok"
    assert verdict(chain(largest + 10), 150) == verdict(chain(largest + 10), 0) != "ok"


def test_pooled_shards_partition_the_sequential_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each worker links the files of its share that are out of the shard."""
    root = _tree(tmp_path)
    full = analyse(Config(root=root, jobs=1, cache=False), load_rule_set([]), [str(root)]).result
    monkeypatch.setattr(engine, "_WORKER_STORE_FILES", 1)
    combined = []
    for index in (1, 2, 3):
        runs = [
            analyse(
                Config(root=root, jobs=2, cache=True),
                load_rule_set([]),
                [str(root)],
                shard=(index, 3),
            ).result
            for _ in range(2)  # cold, then warm from the link facts it cached
        ]
        assert runs[0].findings == runs[1].findings
        assert runs[1].cache_hits > 0
        assert runs[0].aliases == full.aliases
        combined.extend(runs[0].findings)
    assert sorted(combined, key=lambda f: (f.path, f.span.line, f.span.column)) == sorted(
        full.findings, key=lambda f: (f.path, f.span.line, f.span.column)
    )
