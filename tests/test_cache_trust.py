"""A facts cache that arrives with the repository, or that someone else wrote, is never trusted."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

import migrator.engine as engine
from migrator.cache import IRRELEVANT_ENTRY, FactsCache, PrefilterIndex, key_file
from migrator.config import Config
from migrator.rules import load_rule_set
from tests.pull_requests import SINGLETON, audit_clone, git, pull_request

SITE = (
    "from netra_backend.app.agents.tool_dispatcher import ToolDispatcher\n\n\n"
    "def build():\n    return ToolDispatcher()\n"
)


def _run(root: Path) -> engine.Analysis:
    return engine.analyse(Config(root=root, jobs=1), load_rule_set([]), [str(root)])


def _say_nothing_here(cache_dir: Path) -> int:
    """What a doctored migrator leaves: every entry of the run says "nothing here"."""
    cache = FactsCache(cache_dir)
    keys = [
        entry.parent.name + entry.name.removesuffix(".pickle")
        for entry in cache_dir.glob("*/*.pickle")
    ]
    for key in keys:
        cache.put(key, IRRELEVANT_ENTRY)
    return len(keys)


def test_the_key_lives_in_the_user_cache_folder_outside_the_repository(tmp_path: Path) -> None:
    (tmp_path / "site.py").write_text(SITE)
    _run(tmp_path)
    path = key_file()
    assert not path.resolve().is_relative_to(tmp_path.resolve())
    assert path.stat().st_mode & 0o777 == 0o600
    assert len(path.read_bytes()) == 32


def test_a_forged_or_foreign_entry_is_a_miss_never_a_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "site.py").write_text(SITE)
    _run(tmp_path)
    cache_dir = tmp_path / ".migrator_cache"
    entries = sorted(cache_dir.glob("*/*.pickle"))
    assert entries
    # Foreign: written by another user's migrator, with their key.
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path.parent / f"{tmp_path.name}-other-user"))
    assert _say_nothing_here(cache_dir) == len(entries)
    monkeypatch.undo()
    assert [f.kind.value for f in _run(tmp_path).result.findings] == ["singleton"]
    # Forged: a plain pickle, a truncated entry, another entry's bytes under this name.
    _run(tmp_path)
    first, *_ = sorted(cache_dir.glob("*/*.pickle"))
    for forged in (pickle.dumps(IRRELEVANT_ENTRY), first.read_bytes()[:20], b""):
        first.write_bytes(forged)
        assert [f.kind.value for f in _run(tmp_path).result.findings] == ["singleton"]
    index = cache_dir / PrefilterIndex.NAME
    index.write_text('{"format": 5, "words": [], "entries": {}}')
    assert PrefilterIndex.load(cache_dir).entries == {}


def test_a_cache_folder_tracked_by_git_is_ignored(tmp_path: Path) -> None:
    (tmp_path / "site.py").write_text(SITE)
    git(tmp_path, "init", "-q")
    _run(tmp_path)
    # Even entries signed with this very user's key: they came with the repository.
    _say_nothing_here(tmp_path / ".migrator_cache")
    git(tmp_path, "add", "-f", ".migrator_cache")
    result = _run(tmp_path).result
    assert [f.kind.value for f in result.findings] == ["singleton"]
    assert result.cache_hits == 0
    assert any("is tracked by git" in w and "git rm -r --cached" in w for w in result.warnings)


def test_a_pull_request_that_commits_a_cache_saying_nothing_here_is_caught(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def doctored_run(tree: Path) -> None:
        # The attacker's own machine and key: a real run, then doctored entries.
        monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "attacker-home"))
        _run(tree)
        assert _say_nothing_here(tree / ".migrator_cache") > 0
        assert _run(tree).result.findings == ()  # the doctored cache works for the attacker
        monkeypatch.undo()

    clone = pull_request(
        tmp_path,
        {"app/new.py": SINGLETON},
        force_add=(".migrator_cache",),
        prepare=doctored_run,
    )
    assert (clone / ".migrator_cache").is_dir()
    audit = audit_clone(clone, tmp_path / "ci-home")
    assert audit.code == 1, audit.stderr
    blocking = [f for f in audit.document["findings"] if f["kind"] == "singleton"]
    assert [f["path"] for f in blocking] == ["app/new.py"]
