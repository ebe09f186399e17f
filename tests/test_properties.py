"""Property-based tests: arbitrary valid Python never crashes the audit, and `fix` is safe.

`hypothesmith` generates arbitrary programs from Python's grammar; programs with
dispatcher sites are built from the audit fixtures, shuffled and combined with
unrelated statements.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import hypothesmith
import libcst as cst
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from migrator.config import Config
from migrator.engine import analyse
from migrator.extract import ExtractionError, extract
from migrator.fixer import plan_fixes
from migrator.rules import load_rule_set
from tests.conftest import FIXTURES

# hypothesmith compiles each program it generates (as "<string>") to check it, which
# makes CPython warn about oddities such as `"str"()`. Only those warnings are
# silenced: migrator's own parsing uses other file names and stays visible.
pytestmark = pytest.mark.filterwarnings("ignore::SyntaxWarning:<string>")

RULES = load_rule_set([])
NAMES = RULES.search_names()
SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
FIXTURE_FILES = sorted((FIXTURES / "audit").glob("*.py"))
FILLER = st.sampled_from(
    [
        "x = 1\n",
        "def helper(a, b=2):\n    return a + b\n",
        "class Plain:\n    value = 3\n",
        "async def noop():\n    return None\n",
        "if __name__ == '__main__':\n    print('hi')\n",
    ]
)


def _fix_text(
    text: str, name: str = "mod.py", newline: str = "\n", bom: bool = False
) -> tuple[bytes, bytes]:
    """(original bytes, bytes after `fix`) for one file in a fresh tree."""
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        data = text.replace("\n", newline).encode("utf-8")
        data = (b"\xef\xbb\xbf" + data) if bom else data
        (root / name).write_bytes(data)
        result = plan_fixes(Config(root=root, cache=False, jobs=1), RULES, [str(root)])
        changed = [c for c in result.changes if c.changed]
        return data, (changed[0].new if changed and changed[0].new is not None else data)


@SETTINGS
@given(source=hypothesmith.from_grammar())
def test_extract_never_crashes_on_valid_python(source: str) -> None:
    try:
        facts = extract(source, "gen.py", "gen", False, NAMES)
    except ExtractionError:
        return  # reported as a file error, with a message: allowed
    assert facts.relpath == "gen.py"


@SETTINGS
@given(source=hypothesmith.from_grammar())
def test_audit_never_crashes_and_reports_errors_as_results(source: str) -> None:
    text = "from netra_backend.app.agents.tool_dispatcher import ToolDispatcher\n" + source
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        (root / "gen.py").write_text(text, encoding="utf-8")
        result = analyse(Config(root=root, cache=False, jobs=1), RULES, [str(root)]).result
        assert result.files_scanned == 1
        assert all(e.message and "internal error" not in e.message for e in result.errors)


@SETTINGS
@given(
    source=hypothesmith.from_grammar(), newline=st.sampled_from(["\n", "\r\n"]), bom=st.booleans()
)
def test_file_without_a_site_is_byte_for_byte_unchanged(
    source: str, newline: str, bom: bool
) -> None:
    if any(name in source for name in NAMES):
        return
    original, after = _fix_text(source, newline=newline, bom=bom)
    assert after == original


@SETTINGS
@given(
    parts=st.lists(st.sampled_from(FIXTURE_FILES), min_size=1, max_size=3, unique=True),
    filler=st.lists(FILLER, max_size=3),
    newline=st.sampled_from(["\n", "\r\n"]),
    bom=st.booleans(),
)
def test_fix_output_parses_and_a_second_fix_changes_nothing(
    parts: list[Path], filler: list[str], newline: str, bom: bool
) -> None:
    # Imports first (a combined module must stay valid), then every body and the filler.
    bodies = [p.read_text(encoding="utf-8") for p in parts]
    text = "\n\n".join(bodies + filler)
    original, once = _fix_text(text, newline=newline, bom=bom)
    if once == original:
        return
    assert once.startswith(b"\xef\xbb\xbf") == bom
    decoded = once.decode("utf-8-sig")
    assert ("\r\n" in decoded) == (newline == "\r\n")
    cst.parse_module(decoded)
    compile(decoded, "mod.py", "exec", dont_inherit=True)
    _, twice = _fix_text(decoded.replace("\r\n", "\n"), newline=newline, bom=bom)
    assert twice.decode("utf-8-sig") == decoded
