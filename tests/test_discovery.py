"""Discovery: excludes, gitignore, symlinks; the fast exclude path agrees with pathspec."""

from __future__ import annotations

import os
from pathlib import Path

import pathspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from migrator.config import DEFAULT_EXCLUDES
from migrator.discovery import _Excludes, discover

SEGMENTS = st.sampled_from(
    ["src", "venv", ".venv", "node_modules", "pkg", "__pycache__", "a.b", "site-packages", "x"]
)


@settings(max_examples=200, deadline=None)
@given(
    parts=st.lists(SEGMENTS, min_size=1, max_size=5),
    is_dir=st.booleans(),
    extra=st.sampled_from([(), ("build/",), ("*.gen.py",), ("docs/*.py",)]),
)
def test_fast_excludes_match_pathspec(
    parts: list[str], is_dir: bool, extra: tuple[str, ...]
) -> None:
    patterns = [*DEFAULT_EXCLUDES, *extra]
    rel = "/".join(parts) + ("" if is_dir else ".py")
    spec = pathspec.GitIgnoreSpec.from_lines(patterns)
    assert _Excludes(patterns)(rel, is_dir) == spec.match_file(rel + "/" if is_dir else rel)


def test_negation_falls_back_to_pathspec() -> None:
    excludes = _Excludes(["build/", "!build/keep.py"])
    assert excludes.names == frozenset()
    assert excludes("build/x.py", False) is True


def _rels(root: Path, **kwargs: object) -> list[str]:
    return [f.relpath for f in discover(root, [str(root)], **kwargs).files]  # type: ignore[arg-type]


def test_default_and_configured_excludes_and_gitignore(tmp_path: Path) -> None:
    for rel in ["a.py", "venv/lib.py", "pkg/b.py", "pkg/gen/c.py", "pkg/ignored.py", "notes.txt"]:
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x = 1\n")
    (tmp_path / "pkg" / ".gitignore").write_text("ignored.py\n")
    assert _rels(tmp_path, exclude=["gen/"]) == ["a.py", "pkg/b.py"]
    assert _rels(tmp_path, respect_gitignore=False) == [
        "a.py",
        "pkg/b.py",
        "pkg/gen/c.py",
        "pkg/ignored.py",
    ]


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="symlinks")
def test_symlinks_loops_outside_and_broken(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "pkg").mkdir(parents=True)
    (root / "pkg" / "m.py").write_text("x = 1\n")
    os.symlink(root, root / "pkg" / "loop")
    (tmp_path / "out.py").write_text("x = 1\n")
    os.symlink(tmp_path / "out.py", root / "out.py")
    os.symlink(root / "missing.py", root / "broken.py")
    result = discover(root, [str(root)])
    assert [f.relpath for f in result.files] == ["pkg/m.py"]
    messages = {e.path: e.message for e in result.errors}
    assert "symlink loop" in messages["pkg/loop"]
    assert "outside the repository root" in messages["out.py"]
    assert "broken symlink" in messages["broken.py"]


def test_path_outside_root_is_refused(tmp_path: Path) -> None:
    (tmp_path / "root").mkdir()
    result = discover(tmp_path / "root", [str(tmp_path)])
    assert "outside the repository root" in result.errors[0].message
