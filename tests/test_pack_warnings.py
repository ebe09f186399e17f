"""Packs that say what they mean: every run and `rules check` warn when a pack cannot be right."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from migrator.cli import app
from migrator.rules import load_rule_set
from tests.conftest import REPO
from tests.helpers import audit_tree

DEFAULT = (REPO / "rules" / "tool-dispatcher.yaml").read_text(encoding="utf-8")

TREE = {
    "netra_backend/__init__.py": "",
    "netra_backend/app/__init__.py": "",
    "netra_backend/app/agents/__init__.py": "",
    "netra_backend/app/agents/tool_dispatcher_unified.py": (
        "class UnifiedToolDispatcher:\n    def __init__(self, user_context=None, tools=None,"
        " websocket_emitter=None, websocket_bridge=None, permission_service=None):\n"
        "        self.user_context = user_context\n\n\n"
        "class UnifiedToolDispatcherFactory:\n"
        "    @classmethod\n    def create_legacy_global(cls, websocket_manager=None, tools=None):\n"
        "        return UnifiedToolDispatcher(tools=tools)\n"
    ),
    "services/__init__.py": "",
    "services/use.py": (
        "from netra_backend.app.agents.tool_dispatcher_unified import UnifiedToolDispatcher\n\n\n"
        "async def go(user_context):\n    return UnifiedToolDispatcher(tools=[])\n"
    ),
}


def _tree(root: Path) -> Path:
    for relpath, text in TREE.items():
        path = root / relpath
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def _warnings(root: Path, pack_text: str, tmp_path: Path) -> list[str]:
    pack = tmp_path / "pack.yaml"
    pack.write_text(pack_text, encoding="utf-8")
    return list(audit_tree(root, rules=[str(pack)]).result.warnings)


def test_the_default_pack_on_its_own_tree_warns_only_about_the_legacy_signature(
    tmp_path: Path,
) -> None:
    warnings = list(audit_tree(_tree(tmp_path / "repo")).result.warnings)
    assert len(warnings) == 1, warnings
    assert (
        "'legacy-global-factory' signature: (tools, websocket_manager, permission_service)"
        in warnings[0]
    )
    assert "create_legacy_global(websocket_manager, tools)" in warnings[0]


@pytest.mark.parametrize(
    ("typo", "expected"),
    [
        (
            (
                "tool_dispatcher_unified.UnifiedToolDispatcher\n",
                "tool_dispatcher_unifed.UnifiedToolDispatcher\n",
            ),
            "has no 'tool_dispatcher_unifed' (did you mean 'tool_dispatcher_unified'?)",
        ),
        (
            (
                "tool_dispatcher_unified.UnifiedToolDispatcher\n",
                "tool_dispatcher_unified.UnifiedToolDispatchr\n",
            ),
            "has no 'UnifiedToolDispatchr' (did you mean 'UnifiedToolDispatcher'?)",
        ),
    ],
    ids=["module", "class"],
)
def test_a_typo_in_a_class_name_is_a_warning(
    typo: tuple[str, str], expected: str, tmp_path: Path
) -> None:
    root = _tree(tmp_path / "repo")
    warnings = _warnings(root, DEFAULT.replace(*typo), tmp_path)
    assert any(expected in w and "class:" in w for w in warnings), warnings


def test_a_tree_without_the_packs_package_gives_no_name_warnings(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    (root / "app").mkdir(parents=True)
    (root / "app" / "x.py").write_text(
        "from netra_backend.app.agents.tool_dispatcher import ToolDispatcher\n\n"
        "def f():\n    return ToolDispatcher()\n",
        encoding="utf-8",
    )
    assert audit_tree(root).result.warnings == ()


def test_two_packs_claiming_one_class_warn(tmp_path: Path) -> None:
    other = tmp_path / "other.yaml"
    other.write_text(
        DEFAULT.replace("id: tool-dispatcher\n", "id: other\n")
        .replace("id: unified-tool-dispatcher", "id: other-unified")
        .replace("id: admin-tool-dispatcher", "id: other-admin")
        .replace("id: legacy-", "id: other-legacy-")
        .replace("creates: unified-tool-dispatcher", "creates: other-unified")
        .replace("id: tool-executor-", "id: other-tool-executor-"),
        encoding="utf-8",
    )
    rules = load_rule_set(["tool-dispatcher", str(other)])
    assert any(
        "netra_backend.app.agents.tool_dispatcher_unified.UnifiedToolDispatcher is also claimed"
        in w
        for w in rules.warnings
    ), rules.warnings


def test_rules_check_warns_about_contradictions_and_names(tmp_path: Path) -> None:
    pack = tmp_path / "contra.yaml"
    pack.write_text(
        "id: contra\nclasses:\n  - id: c\n"
        "    class: migrator.reference.dispatcher.UnifiedToolDispatchr\n"
        "    signature: [self, user_context]\n"
        "    factory:\n"
        "      call: migrator.reference.UnifiedToolDispatcherFactory.create_request_scoped\n"
        "      await: true\n      async: false\n      parameters: [user_context]\n",
        encoding="utf-8",
    )
    result = CliRunner().invoke(app, ["rules", "check", str(pack)])
    assert result.exit_code == 0
    assert "classes[0].signature: starts with 'self'" in result.output
    assert "says await: true and async: false" in result.output
    assert "has no 'UnifiedToolDispatchr' (did you mean 'UnifiedToolDispatcher'?)" in result.output


def test_audit_help_says_rules_replaces_the_default_pack() -> None:
    import os
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-m", "migrator", "audit", "--help"],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
        check=True,
    )
    text = " ".join(result.stdout.split())
    assert "REPLACES the default pack" in text
    assert "pass both: --rules tool-dispatcher --rules my-pack.yaml" in text.replace("- -", "--")


def test_a_typo_in_a_user_packs_top_level_package_is_a_warning(tmp_path: Path) -> None:
    root = _tree(tmp_path / "repo")
    warnings = _warnings(
        root,
        DEFAULT.replace(
            "netra_backend.app.agents.tool_dispatcher_unified.UnifiedToolDispatcher\n",
            "netra_backnd.app.agents.tool_dispatcher_unified.UnifiedToolDispatcher\n",
        ),
        tmp_path,
    )
    assert any(
        "no package 'netra_backnd' in the scanned tree or the environment (did you mean 'netra_backend'?)"
        in w
        for w in warnings
    ), warnings
