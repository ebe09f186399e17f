"""The codemods under LibCST's own runner, exactly as docs/codemods.md says to run them.

In a temporary copy of a small tree (with this repository's `.libcst.codemod.yaml`
copied to its root, as the docs tell users to do), in subprocesses:

    migrator audit --format json -o audit.json
    python -m libcst.tool codemod context_manager.RewriteToContextManager --no-format --findings audit.json --rules tool-dispatcher app
    migrator audit --format json -o audit.json
    python -m libcst.tool codemod factory_call.RewriteToFactory --no-format --findings audit.json --rules tool-dispatcher app

and the result must be what `migrator fix` writes.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from migrator.config import Config
from migrator.fixer import Style, plan_fixes, write_changes
from migrator.rules import load_rule_set
from tests.conftest import FIXTURES, REPO

CONFIG = REPO / ".libcst.codemod.yaml"

#: (path in the tree, fixture it is copied from)
TREE = {
    "app/__init__.py": None,
    "app/handlers.py": FIXTURES / "context_manager/mixed_with_factory_site.before.py",
    "app/chat.py": FIXTURES / "factory_call/receiver_legacy_global.before.py",
    "app/admin.py": FIXTURES / "context_manager/admin_context.before.py",
    "app/jobs.py": FIXTURES / "manual/no_context_in_scope.before.py",
}
#: Files the two steps must produce (the hand-written `.after.py` of the same fixtures).
EXPECTED = {
    "app/handlers.py": FIXTURES / "context_manager/mixed_with_factory_site.after.py",
    "app/chat.py": FIXTURES / "factory_call/receiver_legacy_global.after.py",
    "app/admin.py": FIXTURES / "context_manager/admin_context.after.py",
    "app/jobs.py": FIXTURES / "manual/no_context_in_scope.before.py",
}


def _make_tree(root: Path, *, with_config: bool = True) -> None:
    for relpath, source in TREE.items():
        path = root / relpath
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(source.read_bytes() if source is not None else b"")
    # A migrator configuration marks the repository root, so audit paths are relative to it.
    (root / "pyproject.toml").write_text("[tool.migrator]\ncache = false\n", encoding="utf-8")
    if with_config:
        shutil.copyfile(CONFIG, root / ".libcst.codemod.yaml")


def _env() -> dict[str, str]:
    env = dict(os.environ)
    # The checkout's `migrator` (and its `migrator.codemods`), whatever is installed.
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), *filter(None, [env.get("PYTHONPATH")])])
    env["NO_COLOR"] = "1"
    return env


def _run(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *args],
        cwd=root,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )


def _audit(root: Path) -> dict:
    completed = _run(
        root, "migrator", "audit", "--format", "json", "-o", "audit.json", "--no-cache"
    )
    # 1 means blocking findings remain, which is expected before the rewrite.
    assert completed.returncode in (0, 1), completed.stderr
    return json.loads((root / "audit.json").read_text(encoding="utf-8"))


def _codemod(
    root: Path,
    command: str,
    *options: str,
    external: bool = False,
    paths: tuple[str, ...] = ("app",),
) -> None:
    completed = _run(
        root,
        "libcst.tool",
        "codemod",
        *(["-x"] if external else []),
        command,
        "--no-format",
        "--hide-progress",
        "--findings",
        "audit.json",
        "--rules",
        "tool-dispatcher",
        *options,
        *paths,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "Failed to codemod 0 files" in completed.stderr, completed.stderr


def test_repository_config_lists_the_codemods() -> None:
    config = yaml.safe_load(CONFIG.read_text(encoding="utf-8"))
    assert config["modules"] == ["migrator.codemods"]
    assert config["formatter"] == []


def test_docs_show_the_commands_this_test_runs() -> None:
    docs = (REPO / "docs/codemods.md").read_text(encoding="utf-8")
    assert "migrator audit --format json -o audit.json" in docs
    assert (
        "python -m libcst.tool codemod context_manager.RewriteToContextManager --no-format" in docs
    )
    assert "python -m libcst.tool codemod factory_call.RewriteToFactory --no-format" in docs
    assert "--findings audit.json --rules tool-dispatcher" in docs


def test_context_manager_then_factory_under_the_libcst_runner(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    _make_tree(root)
    first = _audit(root)
    plans = sorted((f["path"], f["line"], f["fix"]["action"]) for f in first["findings"])
    assert plans == [
        ("app/admin.py", 7, "context-manager"),
        ("app/chat.py", 7, "factory"),
        ("app/handlers.py", 7, "context-manager"),
        ("app/handlers.py", 13, "factory"),
        ("app/jobs.py", 6, "manual"),
    ]

    _codemod(root, "context_manager.RewriteToContextManager")

    handlers = (root / "app/handlers.py").read_text(encoding="utf-8")
    assert (
        "async with UnifiedToolDispatcherFactory.create_scoped_context(user_context=user_context) as dispatcher:"
        in handlers
    )
    # The factory site waits for step 2.
    assert "    dispatcher = ToolDispatcher(user_context)\n" in handlers
    assert (root / "app/admin.py").read_bytes() == EXPECTED["app/admin.py"].read_bytes()
    assert (root / "app/chat.py").read_bytes() == TREE["app/chat.py"].read_bytes()  # type: ignore[union-attr]

    _audit(root)
    _codemod(root, "factory_call.RewriteToFactory")

    for relpath, expected in EXPECTED.items():
        assert (root / relpath).read_text(encoding="utf-8") == expected.read_text(
            encoding="utf-8"
        ), relpath
    final = _audit(root)
    left = sorted(
        (f["path"], f["kind"], f["fix"] and f["fix"]["action"]) for f in final["findings"]
    )
    assert left == [
        ("app/admin.py", "migrated", None),
        ("app/chat.py", "migrated", None),
        ("app/handlers.py", "migrated", None),
        ("app/handlers.py", "migrated", None),
        ("app/jobs.py", "singleton", "manual"),
    ]

    # Same bytes as `migrator fix` on a fresh copy.
    other = tmp_path / "fixed"
    _make_tree(other)
    config = Config(root=other, cache=False, jobs=1)
    write_changes(plan_fixes(config, load_rule_set([]), [str(other / "app")]), other)
    for relpath in TREE:
        assert (root / relpath).read_bytes() == (other / relpath).read_bytes(), relpath


def test_include_context_manager_with_the_full_class_name_and_no_config(tmp_path: Path) -> None:
    """`-x migrator.codemods.factory_call.RewriteToFactory` works without `.libcst.codemod.yaml`; with
    `--include-context-manager` it is `migrator fix --style factory`."""
    root = tmp_path / "repo"
    _make_tree(root, with_config=False)
    _audit(root)

    _codemod(
        root,
        "migrator.codemods.factory_call.RewriteToFactory",
        "--include-context-manager",
        external=True,
    )

    other = tmp_path / "fixed"
    _make_tree(other, with_config=False)
    config = Config(root=other, cache=False, jobs=1)
    write_changes(
        plan_fixes(config, load_rule_set([]), [str(other / "app")], style=Style.FACTORY), other
    )
    for relpath in TREE:
        assert (root / relpath).read_bytes() == (other / relpath).read_bytes(), relpath
    assert "async with" not in (root / "app/handlers.py").read_text(encoding="utf-8")


@pytest.mark.parametrize("order", ["deeper-path-first", "deeper-path-last"])
def test_findings_of_a_file_are_not_given_to_a_file_whose_path_ends_with_it(
    tmp_path: Path, order: str
) -> None:
    """`a/app/handlers.py` must get its own findings only, not also those of `app/handlers.py`.

    Both files have a site at the same position but a different context name in
    scope; each must be rewritten with its own (`ctx` vs `user_context`).
    """
    root = tmp_path / "repo"
    deeper = "a/app/handlers.py" if order == "deeper-path-first" else "z/app/handlers.py"
    sources = {
        "app/handlers.py": "user_context",
        deeper: "ctx",
    }
    for relpath, context in sources.items():
        path = root / relpath
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(
            "from netra_backend.app.agents.tool_dispatcher import ToolDispatcher\n\n\n"
            f"async def run({context}, tools):\n"
            "    dispatcher = ToolDispatcher(tools=tools)\n"
            "    return dispatcher\n",
            encoding="utf-8",
        )
    (root / "pyproject.toml").write_text("[tool.migrator]\ncache = false\n", encoding="utf-8")
    shutil.copyfile(CONFIG, root / ".libcst.codemod.yaml")
    _audit(root)

    _codemod(root, "factory_call.RewriteToFactory", paths=(deeper.split("/")[0], "app"))

    for relpath, context in sources.items():
        text = (root / relpath).read_text(encoding="utf-8")
        assert f"create_request_scoped(user_context={context}, tools=tools)" in text, (
            relpath,
            text,
        )


def test_a_codemods_folder_in_the_migrated_repository_is_never_imported(tmp_path: Path) -> None:
    """The runner imports migrator's codemods even beside a `codemods/` package of the
    repository being migrated (the installed top-level `codemods` used to clash with it)."""
    root = tmp_path / "repo"
    _make_tree(root)
    (root / "codemods").mkdir()
    (root / "codemods" / "__init__.py").write_text(
        "raise ImportError('the repository own codemods were imported')\n", encoding="utf-8"
    )
    _audit(root)
    _codemod(root, "context_manager.RewriteToContextManager")
    handlers = (root / "app/handlers.py").read_text(encoding="utf-8")
    assert "UnifiedToolDispatcherFactory.create_scoped_context(" in handlers
