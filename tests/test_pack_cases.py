"""Cases that need their own rule pack: `fixtures/packs/<case>/`.

Each case holds `pack.yaml` (`rules: [...]` in `case.yaml` adds shipped packs), a
`before/` tree whose lines carry `# expect: <kind> [fix=<plan>]` markers, and an
`after/` tree with the files `fix` must write (a file absent from `after/` must be
left byte for byte). Every case also checks that the output compiles, that
pyflakes finds no new undefined name, that no module imports itself, and that a
second `fix` changes nothing.
"""

from __future__ import annotations

import ast
import shutil
from pathlib import Path

import pytest

from migrator.config import Config
from migrator.fixer import plan_fixes, write_changes
from migrator.rules import load_rule_set
from tests.conftest import FIXTURES
from tests.helpers import new_undefined_names
from tests.test_audit_fixtures import _expected, _normalise_expected

CASES = sorted(p for p in (FIXTURES / "packs").iterdir() if p.is_dir())


def _module_of(relpath: str) -> str:
    parts = relpath.removesuffix(".py").split("/")
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def self_imports(source: str, relpath: str) -> list[str]:
    """Absolute `from X import ...` / `import X` of the file's own module."""
    module = _module_of(relpath)
    found: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module == module:
            found.append(node.module)
        elif isinstance(node, ast.Import):
            found.extend(a.name for a in node.names if a.name == module)
    return found


def _packs(case: Path) -> list[str]:
    return [str(case / "pack.yaml")]


def _actual(result_findings: object) -> dict[tuple[str, int], list[str]]:
    actual: dict[tuple[str, int], list[str]] = {}
    for finding in result_findings:  # type: ignore[attr-defined]
        text = finding.kind.value
        if finding.fix is not None:
            plan = finding.fix.action.value
            if finding.fix.reason:
                plan = f"{plan}:{finding.fix.reason}"
            text = f"{text} fix={plan}"
        actual.setdefault((finding.path, finding.span.line), []).append(text)
    return {key: sorted(value) for key, value in actual.items()}


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.name)
def test_pack_case(case: Path, tmp_path: Path) -> None:
    root = tmp_path / "repo"
    shutil.copytree(case / "before", root)
    rules = load_rule_set(_packs(case))
    config = Config(root=root, cache=False, jobs=1)
    originals = {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*.py")}

    planned = plan_fixes(config, rules, [str(root)])
    assert not planned.audit.errors, planned.audit.errors
    expected = _expected(root)
    assert _normalise_expected(expected, _actual(planned.audit.findings)) == expected
    written = write_changes(planned, root)
    assert not written.write_errors, written.write_errors
    assert not [c.error for c in planned.changes if c.error]

    for relpath, before in originals.items():
        data = (root / relpath).read_bytes()
        after = case / "after" / relpath
        if after.exists():
            assert data.decode() == after.read_text(encoding="utf-8"), relpath
        else:
            assert data == before, f"{relpath} must be left unchanged"
        compile(data, relpath, "exec", dont_inherit=True)
        assert new_undefined_names(before, data, relpath) == [], relpath
        assert self_imports(data.decode(), relpath) == [], relpath

    again = plan_fixes(config, rules, [str(root)])
    assert [c.path for c in again.changes if c.changed] == []
