"""Names Python reads but the bytes do not spell, and changes that act at a distance."""

from __future__ import annotations

from pathlib import Path

import pytest

from migrator.source import SourceError, ascii_transparent, decode, hides_names
from tests.pull_requests import BASE, audit_clone, pull_request

IMPORT = "from netra_backend.app.agents.tool_dispatcher import ToolDispatcher\n"
#: ToolDispatcher with U+217D SMALL ROMAN NUMERAL ONE HUNDRED for the "c".
ROMAN_C = "ToolDispat\u217dher"


def _utf7_hiding() -> bytes:
    """A module whose every mention of the name is spelled in UTF-7 shift sequences."""
    hidden = "+AFQAbwBvAGwARABpAHMAcABhAHQAYwBoAGUAcg-"  # ToolDispatcher
    assert hidden.encode("ascii").decode("utf-7") == "ToolDispatcher"
    text = (
        "# coding: utf-7\n"
        f"from netra_backend.app.agents.tool_dispatcher import {hidden}\n"
        f"dispatcher = {hidden}()\n"
    )
    return text.encode("ascii")


#: Identifiers that Python reads as `ToolDispatcher` (NFKC): analysed as Python reads them.
COMPATIBLE = {
    "compatibility-character": (IMPORT + f"dispatcher = {ROMAN_C}()\n").encode(),
    "compatibility-character-everywhere": (
        f"from netra_backend.app.agents.tool_dispatcher import {ROMAN_C}\n"
        f"dispatcher = {ROMAN_C}()\n"
    ).encode(),
}

#: Codings that spell the name in escapes: refused, so the gate fails.
CODINGS = {
    "utf-7": _utf7_hiding(),
    "raw-unicode-escape": (
        b"# coding: raw_unicode_escape\n"
        b"from netra_backend.app.agents.tool_dispatcher import ToolDispat\\u0063her\n"
        b"dispatcher = ToolDispat\\u0063her()\n"
    ),
    "unicode-escape": (
        b"# -*- coding: unicode_escape -*-\n"
        b"from netra_backend.app.agents.tool_dispatcher import ToolDispat\\x63her\n"
        b"dispatcher = ToolDispat\\x63her()\n"
    ),
}
HIDDEN = {**COMPATIBLE, **CODINGS}


@pytest.mark.parametrize("raw", HIDDEN.values(), ids=HIDDEN.keys())
def test_python_reads_the_name_the_bytes_hide(raw: bytes) -> None:
    # The premise: Python itself sees ToolDispatcher, the bytes do not say it.
    import ast

    names = {n.id for n in ast.walk(ast.parse(raw)) if isinstance(n, ast.Name)}
    assert "ToolDispatcher" in names
    assert b"dispatcher = ToolDispatcher(" not in raw
    assert hides_names(raw, [b"ToolDispatcher"])


@pytest.mark.parametrize("raw", CODINGS.values(), ids=CODINGS.keys())
def test_a_coding_that_can_hide_text_is_refused(raw: bytes) -> None:
    with pytest.raises(SourceError, match="can spell code that a search of the bytes"):
        decode(raw)


@pytest.mark.parametrize("raw", COMPATIBLE.values(), ids=COMPATIBLE.keys())
def test_a_pull_request_cannot_hide_a_name_in_compatibility_characters(
    raw: bytes, tmp_path: Path
) -> None:
    clone = pull_request(tmp_path, {"app/new.py": raw})
    audit = audit_clone(clone, tmp_path / "ci-home")
    assert audit.code == 1, audit.stderr
    blocking = [f for f in audit.document["findings"] if f["path"] == "app/new.py"]
    assert [(f["kind"], f["line"]) for f in blocking] == [("singleton", 2)]


@pytest.mark.parametrize("raw", CODINGS.values(), ids=CODINGS.keys())
def test_a_pull_request_cannot_hide_a_name_in_a_coding(raw: bytes, tmp_path: Path) -> None:
    clone = pull_request(tmp_path, {"app/new.py": raw})
    audit = audit_clone(clone, tmp_path / "ci-home")
    assert audit.code == 2, audit.stderr
    [error] = audit.document["errors"]
    assert error["path"] == "app/new.py"
    assert not audit.document["summary"]["passed"]


def test_ordinary_encodings_and_identifiers_are_analysed() -> None:
    assert ascii_transparent("utf-8") and ascii_transparent("latin-1")
    assert not ascii_transparent("utf-7") and not ascii_transparent("unicode_escape")
    text = "# coding: latin-1\ncafé = 'ｆｕｌｌｗｉｄｔｈ in a string'  # ﬁ in a comment\n"
    assert decode(text.encode("latin-1", "replace")).text.startswith("# coding")
    assert decode("café = 'ｆｕｌｌ'  # ﬁ\n".encode()).text.startswith("café")
    assert not hides_names("x = 'ｆｕｌｌ'\n".encode(), [b"ToolDispatcher"])


def test_changed_since_reports_the_importers_of_a_changed_alias(tmp_path: Path) -> None:
    base = dict(BASE)
    base["app/safe.py"] = "class Safe:\n    pass\n"
    base["app/aliases.py"] = IMPORT + "from app.safe import Safe\n\nDispatcher = Safe\n"
    base["app/views.py"] = "from app.aliases import Dispatcher\n\nshared = Dispatcher()\n"
    change = {
        "app/aliases.py": IMPORT + "from app.safe import Safe\n\nDispatcher = ToolDispatcher\n"
    }
    clone = pull_request(tmp_path, change, base=base)
    audit = audit_clone(clone, tmp_path / "ci-home", "--changed-since", "origin/main")
    assert audit.code == 1, audit.stderr
    assert [(f["path"], f["kind"]) for f in audit.document["findings"]] == [
        ("app/views.py", "singleton")
    ]
