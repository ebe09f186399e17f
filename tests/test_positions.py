"""CPython's positions stand in for LibCST's PositionProvider only where they agree exactly.

`extract()` places the nodes it reports with CPython's `ast` (migrator.positions)
and falls back to LibCST's PositionProvider when the two trees do not line up.
Both paths must give the very same facts; checked on arbitrary generated
programs, on edge cases, on every fixture and on real packages, together with
how often the fast path is actually taken.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import _pytest
import hypothesmith
import pytest
import rich
from hypothesis import HealthCheck, given, settings

from migrator import positions
from migrator.extract import ExtractionError, extract
from tests.conftest import FIXTURES

pytestmark = pytest.mark.filterwarnings("ignore::SyntaxWarning:<string>")


def _names(text: str) -> frozenset[str]:
    """Every identifier of the text: then every call whose callee resolves is recorded."""
    return frozenset(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", text))


def _both(text: str, monkeypatch: pytest.MonkeyPatch) -> tuple[object, object, bool]:
    """(facts via ast positions, facts via LibCST positions, whether the fast path held)."""
    held = {"ok": True}
    original_check = positions.Aligner.check

    def check(self: positions.Aligner) -> None:
        try:
            original_check(self)
        except positions.Misaligned:
            held["ok"] = False
            raise

    with monkeypatch.context() as patch:
        patch.setattr(positions.Aligner, "check", check)
        fast = extract(text, "m.py", "m", False, _names(text))
    with monkeypatch.context() as patch:
        patch.setattr(positions.Aligner, "usable", staticmethod(lambda text: False))
        slow = extract(text, "m.py", "m", False, _names(text))
    return fast, slow, held["ok"] and positions.Aligner.usable(text)


@settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck))
@given(hypothesmith.from_grammar())
def test_generated_programs(text: str) -> None:
    monkeypatch = pytest.MonkeyPatch()
    try:
        fast, slow, _ = _both(text, monkeypatch)
    except (ExtractionError, RecursionError):
        return
    finally:
        monkeypatch.undo()
    assert fast == slow


@pytest.mark.parametrize(
    "text",
    [
        'from m import f\nx = "é" + f(1)\n',
        "from m import d, g, B, M\n@d(1)\nclass A(B, metaclass=M):\n    y: int = g()\n",
        "from m import f, g, h\na = (f)(g)(h)\n",
        "from m import f\nz = ( f( 1 ) ).g()\n",
        'from m import h, field, L\ndef f():\n\tif x:\n\t\treturn h("ü", k=field(default_factory=L))\n',
        "from m import g, t\ns = f'{g(1)}' + t()\n",
        "from m import f\r\na = b = f()\r\nimport os, sys\r\n",
        "import a.b as c\nfrom . import d\nfrom m import f, g, h\nX = f(default_factory=g(factory=h))\n",
    ],
    ids=[
        "non-ascii",
        "decorated-class",
        "chained-calls",
        "parenthesised",
        "tabs",
        "f-string",
        "crlf",
        "nested-factory",
    ],
)
def test_edge_cases(text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    fast, slow, held = _both(text, monkeypatch)
    assert fast == slow
    assert held


def _python_files() -> list[Path]:
    packages = [
        Path(rich.__file__).parent,
        Path(_pytest.__file__).parent,
        Path(ast.__file__).parent / "asyncio",
    ]
    real = sorted(p for root in packages for p in root.rglob("*.py"))
    # Every fixture, and a fixed third of the real files (all of them take much longer).
    return sorted(FIXTURES.rglob("*.py")) + real[::3]


def test_fixtures_and_real_packages(monkeypatch: pytest.MonkeyPatch) -> None:
    held = 0
    files = _python_files()
    for path in files:
        fast, slow, ok = _both(path.read_text(encoding="utf-8-sig"), monkeypatch)
        assert fast == slow, path
        held += ok
    assert held >= 0.95 * len(files), "the fallback should be rare, else the speed-up is gone"


def test_form_feed_uses_libcst_positions_and_fix_stays_safe(tmp_path: Path) -> None:
    """Found in review: LibCST does not reproduce a form feed at the start of a line,
    so its positions and CPython's differ there. Such files use LibCST's positions
    (those the codemods match on), and fix either rewrites the site or, when LibCST
    cannot regenerate the file, leaves it unchanged with a clear reason."""
    import libcst as cst
    from libcst.metadata import MetadataWrapper, PositionProvider

    from migrator.config import Config
    from migrator.fixer import plan_fixes, write_changes
    from migrator.rules import load_rule_set

    text = (
        "from netra_backend.app.agents.tool_dispatcher import ToolDispatcher\n\n\n"
        "async def handle(user_context):\n"
        "\x0c    d = ToolDispatcher(user_context=None)\n"
        "    await d.dispatch('x')\n"
    )
    assert not positions.Aligner.usable(text)
    [call] = extract(text, "ff.py", "ff", False, frozenset({"ToolDispatcher"})).calls
    wrapper = MetadataWrapper(cst.parse_module(text), unsafe_skip_copy=True)
    libcst_calls = [
        r
        for n, r in wrapper.resolve(PositionProvider).items()
        if isinstance(n, cst.Call)
        and isinstance(n.func, cst.Name)
        and n.func.value == "ToolDispatcher"
    ]
    assert [(call.span.line, call.span.column)] == [
        (r.start.line, r.start.column) for r in libcst_calls
    ]

    (tmp_path / "ff.py").write_text(text, encoding="utf-8")
    config = Config(root=tmp_path, cache=False, jobs=1)
    result = write_changes(plan_fixes(config, load_rule_set([]), [str(tmp_path)]), tmp_path)
    errors = [c.error for c in result.changes if c.error]
    assert all("internal error" not in e for e in errors)
    after = (tmp_path / "ff.py").read_text(encoding="utf-8")
    if result.written:
        compile(after, "ff.py", "exec")
    else:
        assert after == text and errors and "does not parse" in errors[0]
