"""`fix --diff --split-by package --output DIR` on the fixture application."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import FIXTURES


def _split_by_package(app: Path, out: Path) -> Path:
    """Run `fix --diff --split-by package --output OUT` in `app`; returns OUT."""
    command = ["fix", "--no-cache", "--diff", "--split-by", "package", "--output", str(out), "."]
    run = subprocess.run(
        [sys.executable, "-m", "migrator", *command],
        cwd=app,
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stderr
    return out


def test_split_by_package_writes_applicable_patches(tmp_path: Path) -> None:
    app = tmp_path / "app"
    shutil.copytree(FIXTURES / "legacy_app", app, ignore=shutil.ignore_patterns("__pycache__"))
    subprocess.run(["git", "init", "-q"], cwd=app, check=True)
    out = _split_by_package(app, tmp_path / "patches")
    assert sorted(p.name for p in out.iterdir()) == [
        "agent_platform.md",
        "agent_platform.patch",
        "tests.md",
        "tests.patch",
    ]
    assert "Leaves" in (out / "agent_platform.md").read_text(encoding="utf-8")
    before = {p: p.read_bytes() for p in app.rglob("*.py")}
    for patch in ("agent_platform.patch", "tests.patch"):
        subprocess.run(["git", "apply", str(out / patch)], cwd=app, check=True)
    changed = [p for p, data in before.items() if p.read_bytes() != data]
    # 6 files of the application, and its test suite and conftest (issue 13).
    assert len(changed) == 8
    expected = FIXTURES / "legacy_app_expected" / "fixed"
    for path in changed:
        assert path.read_bytes() == (expected / path.relative_to(app)).read_bytes()


def test_split_patch_of_a_file_without_final_newline_applies(tmp_path: Path) -> None:
    """The split patches share fix --diff's diff, marker for a missing final newline included."""
    app = tmp_path / "app"
    (app / "pkg").mkdir(parents=True)
    (app / "pkg" / "__init__.py").write_text("")
    source = (
        "from netra_backend.app.agents.tool_dispatcher import ToolDispatcher\n\n\n"
        "async def handle(user_context):\n    return ToolDispatcher(user_context=user_context)"
    )
    (app / "pkg" / "handlers.py").write_text(source)  # no newline at the end
    subprocess.run(["git", "init", "-q"], cwd=app, check=True)
    out = _split_by_package(app, tmp_path / "patches")
    patch = (out / "pkg.patch").read_text(encoding="utf-8")
    assert "\\ No newline at end of file" in patch
    subprocess.run(["git", "apply", str(out / "pkg.patch")], cwd=app, check=True)
    text = (app / "pkg" / "handlers.py").read_text(encoding="utf-8")
    assert "create_request_scoped" in text and not text.endswith("\n")
