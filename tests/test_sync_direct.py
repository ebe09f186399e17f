"""`sync: direct` (issue 13): where nothing can await, the class is built with the context.

`fixtures/direct_construction/<case>.before.py` is fixed with that folder's
`pack.yaml` (the reference pack with `sync: direct`); `test_*` cases are placed
under `tests/`. The result equals `<case>.after.py`, compiles, has no new undefined
name (pyflakes), and a second run changes nothing. Without the key (the default),
the same sites stay `manual: not-async`.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from pyflakes.api import check
from pyflakes.messages import UndefinedName
from pyflakes.reporter import Reporter

from migrator.config import Config
from migrator.fixer import FixPlanResult, plan_fixes, preview_sites, write_changes
from migrator.model import FixAction, Kind
from migrator.rules import RulePackError, load_rule_set, parse_pack
from tests.conftest import FIXTURES

FOLDER = FIXTURES / "direct_construction"


def _place(root: Path, before: Path) -> Path:
    name = before.name.replace(".before.py", ".py")
    target = root / "tests" / name if name.startswith("test_") else root / name
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(before, target)
    return target


def _fix(root: Path, pack: str) -> FixPlanResult:
    rules = load_rule_set([pack])
    return write_changes(
        plan_fixes(Config(root=root, cache=False, jobs=1), rules, [str(root)]), root
    )


class _Undefined(Reporter):  # type: ignore[misc]
    def __init__(self) -> None:
        self.names: set[str] = set()

    def flake(self, message: object) -> None:
        if isinstance(message, UndefinedName):
            self.names.add(str(message.message_args[0]))


def _undefined(text: str) -> set[str]:
    reporter = _Undefined()
    check(text, "case.py", reporter)
    return reporter.names


@pytest.mark.parametrize(
    "before", sorted(FOLDER.glob("*.before.py")), ids=lambda p: p.name.split(".")[0]
)
def test_direct_case(before: Path, tmp_path: Path) -> None:
    target = _place(tmp_path, before)
    result = _fix(tmp_path, str(FOLDER / "pack.yaml"))
    assert not result.write_errors
    text = target.read_text()
    assert text == before.with_name(before.name.replace(".before.", ".after.")).read_text()
    compile(text, str(target), "exec", dont_inherit=True)
    assert _undefined(text) <= _undefined(before.read_text())
    assert result.rewritten_by_action()["direct"] >= 1
    again = _fix(tmp_path, str(FOLDER / "pack.yaml"))
    assert [c.path for c in again.changes if c.changed] == []


def test_after_the_fix_the_sites_are_direct_scoped_and_nothing_is_left(tmp_path: Path) -> None:
    _place(tmp_path, FOLDER / "app.before.py")
    _fix(tmp_path, str(FOLDER / "pack.yaml"))
    again = _fix(tmp_path, str(FOLDER / "pack.yaml"))
    kinds = {f.span.line: f.kind for f in again.audit.findings}
    assert kinds[7] is Kind.DIRECT_SCOPED and kinds[11] is Kind.DIRECT_SCOPED
    assert {f.fix.reason for f in again.left if f.fix is not None} == {"not-async"}


def test_off_by_default(tmp_path: Path) -> None:
    target = _place(tmp_path, FOLDER / "app.before.py")
    result = _fix(tmp_path, "reference")
    assert target.read_bytes() == (FOLDER / "app.before.py").read_bytes()
    actions = {f.fix.action for f in result.audit.findings if f.fix is not None}
    assert FixAction.DIRECT not in actions


def test_a_bad_sync_value_names_line_and_key() -> None:
    text = (FOLDER / "pack.yaml").read_text().replace("    sync: direct", "    sync: sideways")
    with pytest.raises(RulePackError) as info:
        parse_pack(text, "pack.yaml")
    assert info.value.key == "classes[0].sync" and "expected direct or manual" in info.value.message
    assert info.value.line == next(
        i for i, line in enumerate(text.splitlines(), 1) if "sync: sideways" in line
    )


def test_fix_interactive_offers_the_direct_sites_and_not_the_done_ones(tmp_path: Path) -> None:
    _place(tmp_path, FOLDER / "app.before.py")
    rules = load_rule_set([str(FOLDER / "pack.yaml")])
    previews = preview_sites(Config(root=tmp_path, cache=False, jobs=1), rules, [str(tmp_path)])
    direct = [(p.finding.line, p.action) for p in previews if p.action is FixAction.DIRECT]
    assert direct == [(7, FixAction.DIRECT), (11, FixAction.DIRECT)]
    assert "+    return ToolDispatcher(user_context=user_context, tools=tools)" in previews[0].diff
