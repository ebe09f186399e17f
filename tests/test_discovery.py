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


@pytest.mark.parametrize(
    ("given", "why"),
    [
        ("tools/.venv/lib", "tools/.venv/ is excluded (default excludes or the exclude setting)"),
        ("generated/v1", "generated/ is ignored by .gitignore"),
        ("generated", "generated/ is ignored by .gitignore"),
    ],
    ids=["under-default-exclude", "under-ignored-folder", "ignored-folder-itself"],
)
def test_a_named_folder_that_is_left_out_says_why(tmp_path: Path, given: str, why: str) -> None:
    """Naming an excluded or ignored folder used to audit nothing, silently."""
    for rel in ["tools/.venv/lib/m.py", "generated/v1/m.py", "app/m.py"]:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("x = 1\n")
    (tmp_path / ".gitignore").write_text("generated/\n")
    result = discover(tmp_path, [str(tmp_path / given)])
    assert result.files == ()
    [error] = result.errors
    assert error.path == str(tmp_path / given)
    assert error.message.startswith(why + ", so nothing in it is audited")
    assert "--root" in error.message


def test_a_named_folder_with_no_python_files_is_not_an_error(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "notes.txt").write_text("x\n")
    result = discover(tmp_path, [str(tmp_path / "docs")])
    assert result.files == () and result.errors == ()
