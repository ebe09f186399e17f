"""Test code gets the pack's test-context fixture (issue 13): `fixtures/inject_fixture/`.

Each case `<case>.before.py` is copied into a fresh root as `tests/<case>.py`, with
`<case>.conftest.before.py` as `tests/conftest.py` when there is one, and fixed with
the default pack. Then:

- the test file equals `<case>.after.py` byte for byte (no `.after.py`: unchanged,
  and the reasons its sites were left for are the ones its first line names);
- the conftest equals `<case>.conftest.after.py` (no such file: unchanged, or still absent);
- every changed file passes `compile()`, and pyflakes finds no undefined name that
  the original did not have;
- a second run changes nothing.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from pyflakes.api import check
from pyflakes.messages import UndefinedName
from pyflakes.reporter import Reporter

from migrator.config import Config
from migrator.fixer import FixPlanResult, plan_fixes, write_changes
from migrator.rules import RuleSet, load_rule_set
from tests.conftest import FIXTURES

FOLDER = FIXTURES / "inject_fixture"
_REASON = re.compile(r"[a-z][a-z-]+")


def _cases() -> list[Path]:
    return sorted(p for p in FOLDER.glob("*.before.py") if ".conftest." not in p.name)


def _sibling(before: Path, suffix: str) -> Path:
    return before.with_name(before.name.removesuffix(".before.py") + suffix)


@pytest.fixture(scope="module")
def rules() -> RuleSet:
    return load_rule_set([])


def _fix(root: Path, rules: RuleSet) -> FixPlanResult:
    config = Config(root=root, cache=False, jobs=1)
    return write_changes(plan_fixes(config, rules, [str(root)]), root)


class _Collect(Reporter):  # type: ignore[misc]
    def __init__(self) -> None:
        self.names: set[str] = set()

    def flake(self, message: object) -> None:
        if isinstance(message, UndefinedName):
            self.names.add(str(message.message_args[0]))

    def unexpectedError(self, filename: str, msg: str) -> None:
        raise AssertionError(f"{filename}: {msg}")

    def syntaxError(self, filename: str, msg: str, lineno: int, offset: int, text: str) -> None:
        raise AssertionError(f"{filename}:{lineno}: {msg}")


def _undefined(text: str) -> set[str]:
    reporter = _Collect()
    check(text, "case.py", reporter)
    return reporter.names


@pytest.mark.parametrize("before", _cases(), ids=lambda p: p.name.removesuffix(".before.py"))
def test_inject_case(before: Path, tmp_path: Path, rules: RuleSet) -> None:
    root = tmp_path / "repo"
    (root / "tests").mkdir(parents=True)
    target = root / "tests" / before.name.replace(".before.py", ".py")
    target = target.with_name("test_" + target.name.removeprefix("test_"))
    shutil.copyfile(before, target)
    conftest = root / "tests" / "conftest.py"
    conftest_before = _sibling(before, ".conftest.before.py")
    if conftest_before.exists():
        shutil.copyfile(conftest_before, conftest)
    after, conftest_after = _sibling(before, ".after.py"), _sibling(before, ".conftest.after.py")

    result = _fix(root, rules)

    assert not result.write_errors and not [c.error for c in result.changes if c.error]
    if after.exists():
        assert target.read_text() == after.read_text()
        assert any("test context fixture" in line for line in result.test_context_lines())
    else:
        assert target.read_bytes() == before.read_bytes()
        wanted = set(_REASON.findall(before.read_text().splitlines()[0].removeprefix("# manual:")))
        assert {f.fix.reason for f in result.left if f.fix is not None} == wanted
    if conftest_after.exists():
        assert conftest.read_text() == conftest_after.read_text()
        assert "the `user_context` fixture defined in tests/conftest.py" in "\n".join(
            result.test_context_lines()
        )
    elif conftest_before.exists():
        assert conftest.read_bytes() == conftest_before.read_bytes()
    else:
        assert not conftest.exists()
    for path, original in ((target, before), (conftest, conftest_before)):
        if not path.exists():
            continue
        text = path.read_text()
        compile(text, str(path), "exec", dont_inherit=True)
        old = original.read_text() if original.exists() else ""
        assert _undefined(text) <= _undefined(old), path.name

    again = _fix(root, rules)
    assert [c.path for c in again.changes if c.changed] == []
