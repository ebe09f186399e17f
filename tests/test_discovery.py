"""Discovery: excludes, gitignore, symlinks; the fast exclude path agrees with pathspec."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pathspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from migrator.config import DEFAULT_EXCLUDES
from migrator.discovery import NOT_UTF8, _Excludes, discover
from tests.helpers import REPO, audit_tree
from tests.pull_requests import git

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


# ------------------------------------------- excluded but importable (issue 15, item 3)

SINGLETON = (
    "from netra_backend.app.agents.tool_dispatcher import ToolDispatcher\n\n\n"
    "def build():\n    return ToolDispatcher()\n"
)


def _write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)


@pytest.mark.parametrize(
    "folder", ["venv", "node_modules", "build"], ids=["default-venv", "default-node", "gitignored"]
)
def test_a_tracked_module_is_analysed_whatever_its_folder(tmp_path: Path, folder: str) -> None:
    """A pull request puts a singleton in a folder that is excluded by default or by
    .gitignore, commits it (`git add -f`) and imports it: the audit must see it."""
    _write(
        tmp_path,
        {
            ".gitignore": "build/\n",
            "app/__init__.py": "",
            "app/main.py": f"from {folder}.evil import build\n",
            f"{folder}/evil.py": SINGLETON,
            f"{folder}/untracked_unused.py": SINGLETON,
        },
    )
    git(tmp_path, "init", "-q")
    git(tmp_path, "add", "-f", ".gitignore", "app", f"{folder}/evil.py")
    git(tmp_path, "commit", "-q", "-m", "pr")
    # Not imported either way: the tracked file counts because git tracks it.
    (tmp_path / "app" / "main.py").write_text("x = 1\n")
    assert _rels(tmp_path) == ["app/__init__.py", "app/main.py", f"{folder}/evil.py"]
    analysis = audit_tree(tmp_path)
    assert [(f.path, f.kind.value) for f in analysis.result.findings] == [
        (f"{folder}/evil.py", "singleton")
    ]


@pytest.mark.parametrize(
    ("importer", "expected"),
    [
        ("from build.gen import helper\n", ["build/__init__.py", "build/gen.py"]),
        ("import build.gen as g\n", ["build/__init__.py", "build/gen.py"]),
        ("from build import gen\n", ["build/__init__.py", "build/gen.py"]),
        ("from build import (\n    other,\n    gen,\n)\n", ["build/__init__.py", "build/gen.py"]),
        ("x = 1\n", []),
    ],
    ids=["from-module", "import-as", "from-package", "parenthesised", "not-imported"],
)
def test_an_untracked_module_is_analysed_when_a_scanned_module_imports_it(
    tmp_path: Path, importer: str, expected: list[str]
) -> None:
    """Outside git (nothing tracked), .gitignore and the default excludes yield to imports,
    followed transitively; what nothing imports stays out."""
    _write(
        tmp_path,
        {
            ".gitignore": "build/\n",
            "app.py": importer,
            "build/__init__.py": "",
            "build/gen.py": "from .deeper import x\n",
            "build/deeper.py": "x = 1\n",
            "build/other_unused.py": "y = 2\n",
            "venv/lib/site.py": "z = 3\n",
        },
    )
    deeper = ["build/deeper.py"] if expected else []
    assert _rels(tmp_path) == sorted(["app.py", *expected, *deeper])


def test_a_relative_import_of_an_ignored_file_in_a_package(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "pkg/.gitignore": "generated.py\n",
            "pkg/__init__.py": "from .generated import TABLE\n",
            "pkg/generated.py": SINGLETON,
            "pkg/ignored_alone.py": "",
        },
    )
    (tmp_path / "pkg" / ".gitignore").write_text("generated.py\nignored_alone.py\n")
    assert _rels(tmp_path) == ["pkg/__init__.py", "pkg/generated.py"]


def test_configured_excludes_stay_absolute(tmp_path: Path) -> None:
    """`exclude` in the configuration is the user's decision: imports do not override it."""
    _write(tmp_path, {"app.py": "from gen.m import x\n", "gen/m.py": "x = 1\n"})
    assert _rels(tmp_path, exclude=["gen/"]) == ["app.py"]


# -------------------------------------------------------- names that are not UTF-8


def test_a_name_that_is_not_utf8_is_reported_not_analysed(tmp_path: Path) -> None:
    root = os.fsencode(tmp_path)
    with open(os.path.join(root, b"bad\xff.py"), "wb") as handle:
        handle.write(SINGLETON.encode())
    os.mkdir(os.path.join(root, b"dir\xfe"))
    with open(os.path.join(root, b"dir\xfe", b"m.py"), "wb") as handle:
        handle.write(SINGLETON.encode())
    (tmp_path / "ok.py").write_text("x = 1\n")
    with open(os.path.join(root, b"data\xff.txt"), "wb"):
        pass  # not Python: not discovery's business, not reported
    result = discover(tmp_path, [str(tmp_path)])
    assert [f.relpath for f in result.files] == ["ok.py"]
    assert [(e.path, e.message) for e in result.errors] == [
        ("bad\\xff.py", NOT_UTF8),
        ("dir\\xfe", NOT_UTF8),
    ]
    for error in result.errors:
        error.path.encode("utf-8")  # every report format can carry it


@pytest.mark.parametrize("fmt", ["console", "json", "sarif", "junit", "github", "markdown"])
def test_a_name_that_is_not_utf8_is_an_error_in_every_format(tmp_path: Path, fmt: str) -> None:
    """It used to end every format in a UnicodeEncodeError traceback."""
    with open(os.path.join(os.fsencode(tmp_path), b"bad\xff.py"), "wb") as handle:
        handle.write(SINGLETON.encode())
    (tmp_path / "ok.py").write_text(SINGLETON)
    done = subprocess.run(
        [sys.executable, "-m", "migrator", "audit", "--no-cache", "--format", fmt, "."],
        cwd=tmp_path,
        capture_output=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        timeout=300,
    )
    stdout = done.stdout.decode("utf-8")
    assert b"Traceback" not in done.stderr, done.stderr.decode("utf-8", "replace")
    assert done.returncode == 2, stdout
    if fmt == "json":
        assert "bad\\xff.py" in [error["path"] for error in json.loads(stdout)["errors"]]
    elif fmt == "sarif":  # paths are URIs there: the escape's backslash is percent-encoded
        assert "bad%5Cxff.py" in stdout
    else:
        assert "bad\\xff.py" in stdout
    assert "ok.py" in stdout
