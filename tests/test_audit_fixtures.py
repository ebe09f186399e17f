"""Data-driven audit cases: `fixtures/audit/<case>.py` or `<case>/` with `# expect:` markers.

Every line that starts a site carries `# expect: <kind> [fix=<plan>]` (several
separated by `;`); every other line must have no site. One parametrised test
per case, with the case's name as its id.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from tests.conftest import FIXTURES
from tests.helpers import audit_tree

CASES = FIXTURES / "audit"
MARKER = re.compile(r"#\s*expect:\s*(?P<body>.+)$")


def _cases() -> list[Path]:
    return sorted(p for p in CASES.iterdir() if p.suffix == ".py" or p.is_dir())


def _expected(root: Path) -> dict[tuple[str, int], list[str]]:
    expected: dict[tuple[str, int], list[str]] = {}
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root).as_posix()
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            match = MARKER.search(line)
            if match is None:
                continue
            items = [
                " ".join(part.split()) for part in match.group("body").split(";") if part.strip()
            ]
            expected[(rel, number)] = sorted(items)
    return expected


def _actual(root: Path) -> dict[tuple[str, int], list[str]]:
    result = audit_tree(root).result
    assert not result.errors, result.errors
    actual: dict[tuple[str, int], list[str]] = {}
    for finding in result.findings:
        text = finding.kind.value
        if finding.fix is not None:
            plan = finding.fix.action.value
            if finding.fix.reason:
                plan = f"{plan}:{finding.fix.reason}"
            text = f"{text} fix={plan}"
        actual.setdefault((finding.path, finding.span.line), []).append(text)
    return {key: sorted(value) for key, value in actual.items()}


def _normalise_expected(
    expected: dict[tuple[str, int], list[str]], actual: dict[tuple[str, int], list[str]]
):
    """A marker without `fix=` checks only the kind, so drop the plan from the actual side there."""
    out: dict[tuple[str, int], list[str]] = {}
    for key, items in actual.items():
        wanted = expected.get(key, [])
        if wanted and all("fix=" not in item for item in wanted):
            out[key] = sorted(item.split(" fix=")[0] for item in items)
        else:
            out[key] = items
    return out


@pytest.mark.parametrize("case", _cases(), ids=lambda p: p.stem if p.is_file() else p.name)
def test_audit_case(case: Path, tmp_path: Path) -> None:
    root = tmp_path / "case"
    if case.is_dir():
        shutil.copytree(case, root)
    else:
        root.mkdir()
        shutil.copy(case, root / case.name)
    expected = _expected(root)
    actual = _normalise_expected(expected, _actual(root))
    assert actual == expected


def test_there_are_enough_cases() -> None:
    assert len(_cases()) >= 40


def test_signature_disagreement_is_reported(tmp_path: Path) -> None:
    root = tmp_path / "case"
    shutil.copytree(CASES / "signature_from_tree", root)
    warnings = audit_tree(root).result.warnings
    assert len(warnings) == 1
    assert warnings[0].startswith("netra_backend/app/agents/tool_dispatcher_unified.py:2: ")
    assert "(tools, user_context, websocket_emitter)" in warnings[0]
    assert "'unified-tool-dispatcher'" in warnings[0]
