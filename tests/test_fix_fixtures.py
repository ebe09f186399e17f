"""Data-driven `migrator fix` cases: `fixtures/<codemod>/<case>.before.py` and `.after.py`.

Folders:

- `factory_call/`, `context_manager/`: sites the default style (`auto`) rewrites
  with that codemod (a file may also hold sites of the other plan);
- `manual/`: files the tool must leave unchanged (a manual reason, a suppressed
  or migrated site, or no site at all); they have no `.after.py`;
- `factory_style/`: run with `Style.FACTORY` (`migrator fix --style factory`),
  where the factory is chosen even where a context manager would be safe.

Each case is copied byte for byte into a fresh root as `<case>.py`, planned and
written in-process (`plan_fixes` + `write_changes`), and then:

- the file's bytes equal the `.after.py` bytes (BOM and CRLF included), or are
  unchanged with an unchanged mtime when there is no `.after.py`;
- the result parses with LibCST and passes `compile()`;
- a second run plans no change and leaves the bytes alone.

The `.after.py` files were written by hand from the design and the codemods'
docstrings, not copied from the tool's output.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import libcst as cst
import pytest

from migrator.config import Config
from migrator.fixer import FixPlanResult, Style, plan_fixes, write_changes
from migrator.rules import RuleSet, load_rule_set
from tests.conftest import FIXTURES
from tests.helpers import new_undefined_names

FOLDERS = ("factory_call", "context_manager", "manual", "factory_style")
#: Cases in these folders run with another style than the default.
STYLES = {"factory_style": Style.FACTORY}

#: Every manual reason of the design must have at least one case in `manual/`.
MANUAL_REASONS = (
    "no-context-in-scope",
    "not-async",
    "module-level",
    "class-body",
    "unmapped-argument:websocket_bridge",
    "unmapped-argument:websocket_emitter",
    "unmapped-argument:llm_manager",
    "unmapped-argument:tool_dispatcher",
    "missing-argument:admin_user",
    "missing-argument:db_session",
    "kwargs-forwarding",
    "super-init",
    "uncertain",
    "shared-instance",
    "indirect-construction",
    "subclass",
    "context-mismatch",
)
_REASON = re.compile(r"manual:(?P<reason>[a-z-]+(?::[a-z_]+)?)")


def _cases() -> list[Path]:
    return sorted(p for folder in FOLDERS for p in (FIXTURES / folder).glob("*.before.py"))


def _case_id(before: Path) -> str:
    return f"{before.parent.name}/{before.name.removesuffix('.before.py')}"


def _after(before: Path) -> Path:
    return before.with_name(before.name.removesuffix(".before.py") + ".after.py")


@pytest.fixture(scope="module")
def rules() -> RuleSet:
    return load_rule_set([])


def _fix(root: Path, rules: RuleSet, style: Style) -> FixPlanResult:
    config = Config(root=root, cache=False, jobs=1)
    result = plan_fixes(config, rules, [str(root)], style=style)
    return write_changes(result, root)


def _first_line(path: Path) -> str:
    return path.read_bytes().decode("utf-8-sig").splitlines()[0]


@pytest.mark.parametrize("before", _cases(), ids=_case_id)
def test_fix_case(before: Path, tmp_path: Path, rules: RuleSet) -> None:
    case = before.name.removesuffix(".before.py")
    style = STYLES.get(before.parent.name, Style.AUTO)
    root = tmp_path / "repo"
    root.mkdir()
    target = root / f"{case}.py"
    shutil.copyfile(before, target)
    original = before.read_bytes()
    mtime = target.stat().st_mtime_ns
    after = _after(before)

    result = _fix(root, rules, style)

    assert not result.audit.errors, result.audit.errors
    assert not result.write_errors, result.write_errors
    assert not [c.error for c in result.changes if c.error], [c.error for c in result.changes]
    data = target.read_bytes()
    if after.exists():
        # A readable text diff first, then byte for byte (BOM, line endings, encoding).
        assert data.decode("utf-8-sig") == after.read_bytes().decode("utf-8-sig")
        assert data == after.read_bytes()
    else:
        assert data == original
        assert target.stat().st_mtime_ns == mtime, "an unchanged file must not be rewritten"
        assert result.written == ()
        if before.parent.name == "manual":
            # The reasons named on the first line are the reasons the sites were left for.
            wanted = {m.group("reason") for m in _REASON.finditer(_first_line(before))}
            left = {f.fix.reason for f in result.left if f.fix is not None}
            assert wanted <= left, (
                f"expected manual reasons {sorted(wanted)}, got {sorted(r or '' for r in left)}"
            )

    # The output is valid Python that CPython compiles (an `await` outside `async def` would fail here).
    cst.parse_module(data)
    compile(data, str(target), "exec", dont_inherit=True)
    # No name the rewrite uses is left undefined, and no module imports itself.
    assert new_undefined_names(original, data, target.name) == []

    # A second run over the output changes nothing.
    mtime_after = target.stat().st_mtime_ns
    again = _fix(root, rules, style)
    assert [c.path for c in again.changes if c.changed] == []
    assert again.written == ()
    assert target.read_bytes() == data
    assert target.stat().st_mtime_ns == mtime_after


def test_enough_cases() -> None:
    assert len(_cases()) >= 50


def test_every_case_documents_what_it_checks() -> None:
    for before in _cases():
        assert _first_line(before).startswith("# "), (
            f"{_case_id(before)}: first line must be a comment"
        )


def test_manual_cases_have_no_after() -> None:
    assert [_case_id(b) for b in _cases() if b.parent.name == "manual" and _after(b).exists()] == []


def test_every_after_has_a_before() -> None:
    orphans = [
        p
        for folder in FOLDERS
        for p in (FIXTURES / folder).glob("*.after.py")
        if not p.with_name(p.name.removesuffix(".after.py") + ".before.py").exists()
    ]
    assert orphans == []


def test_every_manual_reason_has_a_case() -> None:
    named: set[str] = set()
    for before in _cases():
        if before.parent.name == "manual":
            named |= {m.group("reason") for m in _REASON.finditer(_first_line(before))}
    assert set(MANUAL_REASONS) <= named, sorted(set(MANUAL_REASONS) - named)


def test_line_ending_and_bom_cases_are_intact() -> None:
    """Guard against a checkout that normalised the CRLF and BOM fixtures."""
    for folder in ("factory_call", "context_manager"):
        for suffix in (".before.py", ".after.py"):
            crlf = (FIXTURES / folder / f"crlf_line_endings{suffix}").read_bytes()
            assert crlf.count(b"\r\n") == crlf.count(b"\n") > 0
            assert (
                (FIXTURES / folder / f"utf8_bom{suffix}").read_bytes().startswith(b"\xef\xbb\xbf")
            )
