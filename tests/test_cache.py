"""The per-file cache and the prefilter index: hits, invalidation, sharing, pruning, safety."""

from __future__ import annotations

import os
import pickle
import time
from pathlib import Path

import pytest

import migrator.engine as engine
from migrator import filestore
from migrator.cache import FactsCache, PrefilterIndex
from migrator.config import Config
from migrator.rules import load_rule_set

SITE = (
    "from netra_backend.app.agents.tool_dispatcher import ToolDispatcher\n\n\n"
    "def build():\n    return ToolDispatcher()\n"
)


def _run(root: Path, **overrides: object) -> engine.Analysis:
    config = Config(root=root, jobs=1).with_overrides(**overrides)
    return engine.analyse(config, load_rule_set([]), [str(root)])


def _age(path: Path, seconds: float = 60) -> None:
    past = time.time() - seconds
    os.utime(path, (past, past))


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    (tmp_path / "site.py").write_text(SITE)
    (tmp_path / "plain.py").write_text("x = 1\n")
    for path in tmp_path.glob("*.py"):
        _age(path)
    return tmp_path


def _count_extractions(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    calls: list[str] = []
    original = filestore.extract_source

    def counting(job: filestore.ExtractJob) -> filestore.ExtractResult:
        calls.append(job[0])
        return original(job)

    monkeypatch.setattr(filestore, "extract_source", counting)
    return calls


def test_second_run_parses_nothing_and_gives_the_same_result(
    tree: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = _run(tree).result
    calls = _count_extractions(monkeypatch)
    second = _run(tree).result
    assert calls == []
    assert second.findings == first.findings and second.cache_hits == 1


def test_cache_folder_is_git_ignored_from_inside(tree: Path) -> None:
    _run(tree)
    assert (tree / ".migrator_cache" / ".gitignore").read_text().splitlines()[-1] == "*"


def test_no_cache_writes_nothing(tree: Path) -> None:
    _run(tree, cache=False)
    assert not (tree / ".migrator_cache").exists()


def test_changed_content_is_a_miss(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _run(tree)
    (tree / "site.py").write_text(SITE + "\n\ndef other():\n    return ToolDispatcher(None)\n")
    calls = _count_extractions(monkeypatch)
    assert len(_run(tree).result.findings) == 2
    assert calls == ["site.py"]


def test_same_size_same_mtime_edit_is_still_seen(tree: Path) -> None:
    """The prefilter index also keys on ctime and inode: `touch -r` cannot hide an edit."""
    _run(tree)
    plain = tree / "plain.py"
    before = plain.stat()
    plain.write_text("y = ToolDispatcher()\n"[: len("x = 1\n")])  # same size
    os.utime(plain, ns=(before.st_atime_ns, before.st_mtime_ns))
    plain.write_bytes(b"T = 1\n")
    os.utime(plain, ns=(before.st_atime_ns, before.st_mtime_ns))
    index = PrefilterIndex.load(tree / ".migrator_cache")
    assert not index.clean("plain.py", PrefilterIndex.signature(plain.stat()), frozenset({"x"}))


def test_prefilter_index_skips_unchanged_files_but_not_edited_ones(
    tree: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(PrefilterIndex, "_RACY_NS", 0)  # ctime cannot be set back in a test
    _run(tree)
    index = PrefilterIndex.load(tree / ".migrator_cache")
    assert "plain.py" in index.entries and "site.py" not in index.entries
    (tree / "plain.py").write_text(SITE.replace("build", "make"))
    assert len(_run(tree).result.findings) == 2


def test_recently_modified_files_are_not_indexed(tmp_path: Path) -> None:
    (tmp_path / "fresh.py").write_text("x = 1\n")
    _run(tmp_path)
    assert "fresh.py" not in PrefilterIndex.load(tmp_path / ".migrator_cache").entries


def test_rules_and_module_name_are_part_of_the_key() -> None:
    base = FactsCache.key(b"x", "a.py", "r1", frozenset({"N"}), "a", False)
    assert base != FactsCache.key(b"x", "a.py", "r2", frozenset({"N"}), "a", False)
    assert base != FactsCache.key(b"x", "a.py", "r1", frozenset({"N"}), "pkg.a", False)
    assert base != FactsCache.key(b"y", "a.py", "r1", frozenset({"N"}), "a", False)
    assert base != FactsCache.key(b"x", "a.py", "r1", frozenset({"M"}), "a", False)


def test_tool_version_is_part_of_the_key(monkeypatch: pytest.MonkeyPatch) -> None:
    import migrator.cache as cache_module

    before = FactsCache.key(b"x", "a.py", "r", frozenset(), "a")
    monkeypatch.setattr(cache_module, "__version__", "999.0")
    assert FactsCache.key(b"x", "a.py", "r", frozenset(), "a") != before


def test_corrupt_entry_is_a_miss(tree: Path) -> None:
    _run(tree)
    for entry in (tree / ".migrator_cache").glob("*/*.pickle"):
        entry.write_bytes(b"\x80\x04garbage")
    assert len(_run(tree).result.findings) == 1


def test_malicious_pickle_in_a_committed_cache_is_never_run(tmp_path: Path) -> None:
    class Evil:
        def __reduce__(self) -> tuple[object, tuple[str]]:
            return (os.system, (f"touch {tmp_path / 'pwned'}",))

    cache = FactsCache(tmp_path / "cache")
    key = "ab" + "0" * 62
    path = cache._path(key)
    path.parent.mkdir(parents=True)
    path.write_bytes(pickle.dumps(Evil()))
    assert cache.lookup(key) is None
    assert not (tmp_path / "pwned").exists()


def test_prune_removes_stale_entries_but_keeps_a_concurrent_runs(tree: Path) -> None:
    _run(tree)
    (tree / "site.py").write_text(SITE + "# v2\n")
    _age(tree / "site.py")
    entries = list((tree / ".migrator_cache").glob("*/*.pickle"))
    for entry in entries:
        _age(entry, 3600)
    _run(tree)
    remaining = set((tree / ".migrator_cache").glob("*/*.pickle"))
    assert len(remaining) == 1 and not remaining & set(entries)
    cache = FactsCache(tree / ".migrator_cache")
    other = cache._path("cd" + "1" * 62)  # written by another run after this one started
    other.parent.mkdir(exist_ok=True)
    other.write_bytes(pickle.dumps("migrator:irrelevant"))
    cache.prune()
    assert other.exists()


def test_two_runs_sharing_the_cache_concurrently(tree: Path) -> None:
    import subprocess
    import sys

    for index in range(30):
        (tree / f"m{index}.py").write_text(SITE.replace("build", f"build{index}"))
    command = [
        sys.executable,
        "-m",
        "migrator",
        "audit",
        "--root",
        str(tree),
        "--format",
        "json",
        str(tree),
    ]
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    runs = [
        subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        for _ in range(3)
    ]
    outputs = [run.communicate() for run in runs]
    assert all(run.returncode == 1 for run in runs), [o[1] for o in outputs]
    import json

    findings = [json.loads(out)["findings"] for out, _ in outputs]
    assert findings[0] == findings[1] == findings[2] and len(findings[0]) == 31
    assert not list((tree / ".migrator_cache").glob("*/.migrator-*"))
