"""The extractor on CPython's `ast`: what it records, where, and what it refuses.

Positions follow LibCST's convention (the codemods match sites on them, and
baselines were written with them): 1-based lines, 0-based character columns, a
node's own parentheses left out of its span but kept in its text. Deep but valid
code is analysed; what CPython's own parser refuses is one line that names the
place, and, for a construct of a newer Python, which Python parses it.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

from migrator import filestore
from migrator.extract import ExtractionError, extract
from migrator.facts import CallFacts, CallForm, FileFacts, Storage
from migrator.model import Span

NAMES = frozenset({"T", "ToolDispatcher"})
# `except*` binds like `except`; it is only syntax from Python 3.11 on.
EXCEPT_GROUP = "except*" if sys.version_info >= (3, 11) else "except"
HEADER = "from m import T\n"


def _facts(body: str, names: frozenset[str] = NAMES) -> FileFacts:
    return extract(HEADER + body, "pkg/mod.py", "pkg.mod", False, names)


def _calls(body: str) -> list[CallFacts]:
    return list(_facts(body).calls)


# ------------------------------------------------------------------ positions and text


@pytest.mark.parametrize(
    ("body", "span", "callee", "normalized"),
    [
        ("x = T()\n", Span(2, 4, 2, 7), "T", "T()"),
        # Character columns, not UTF-8 bytes: `é` is two bytes.
        ("é = f(é, T(ü='ö'))\n", Span(2, 9, 2, 17), "T", "T(ü='ö')"),
        # The call's own parentheses: out of the span, in the text.
        ("x = ( T( ) )\n", Span(2, 6, 2, 10), "T", "(T())"),
        ("x = (T)(1)\n", Span(2, 4, 2, 10), "(T)", "(T)(1)"),
        # An argument's parentheses are its own; the call's are not.
        ("f(T())\n", Span(2, 2, 2, 5), "T", "T()"),
        ("f((T()))\n", Span(2, 3, 2, 6), "T", "(T())"),
        ("class C(T()):\n    pass\n", Span(2, 8, 2, 11), "T", "T()"),
        # `with (...):` owns the parentheses around all its items.
        ("with (T()):\n    pass\n", Span(2, 6, 2, 9), "T", "T()"),
        ("with (T()) as t:\n    pass\n", Span(2, 6, 2, 9), "T", "(T())"),
        ("x = T(\n    1,  # one\n)\n", Span(2, 4, 4, 1), "T", "T(1,#one)"),
    ],
    ids=[
        "plain",
        "non-ascii-columns",
        "own-parentheses",
        "parenthesized-callee",
        "argument",
        "parenthesized-argument",
        "class-base",
        "with-parentheses",
        "with-as",
        "multi-line-with-comment",
    ],
)
def test_span_callee_and_anchor(body: str, span: Span, callee: str, normalized: str) -> None:
    [call] = _calls(body)
    assert (call.span, call.callee_text, call.normalized) == (span, callee, normalized)


def test_argument_text_is_the_code_without_the_blocks_indentation() -> None:
    body = (
        "def f(u):\n"
        "    return T(\n"
        "        (u),\n"
        "        k=g(\n"
        "            1,\n"
        "        ),\n"
        "        s='''a\n"
        "        b''',\n"
        "    )\n"
        "def g(x):\n"
        "    return T(y for y in x)\n"
    )
    first, second = _calls(body)
    assert [a.text for a in first.positional] == ["(u)"]
    # Lines broken inside brackets lose the block's indentation; a string's own lines do not.
    assert dict((k, a.text) for k, a in first.keywords) == {
        "k": "g(\n        1,\n    )",
        "s": "'''a\n        b'''",
    }
    # A generator expression shares the call's parentheses.
    assert [a.text for a in second.positional] == ["y for y in x"]


# ------------------------------------------------------------------ how a result is used


@pytest.mark.parametrize(
    ("body", "bound", "escape", "cm"),
    [
        ("def f():\n    d = T()\n    d.run()\n", "d", None, True),
        ("def f():\n    d = T()\n    return d\n", "d", "returned", False),
        ("def f():\n    d = T()\n    g(d)\n", "d", "passed to a call", False),
        ("def f():\n    d = T()\n    x = [d]\n", "d", "stored in a container", False),
        ("def f():\n    d = T()\n    x = d\n", "d", "stored or aliased", False),
        ("def f():\n    d = T()\n    return lambda: d\n", "d", "captured by a closure", False),
        ("def f():\n    d = T()\n    x[d, 1]\n", "d", None, True),
        ("def f():\n    d = T()\n    x[(d, 1)]\n", "d", "stored in a container", False),
        ("def f():\n    d = T()\n    def g(x=d):\n        pass\n", "d", None, False),
        ("def f():\n    d = T(); d.run()\n", "d", None, False),
        ("def f():\n    if x: d = T()\n    d.run()\n", "d", None, False),
        ("def f():\n    d = T()\n    for x in d:\n        pass\n", "d", None, False),
        ("async def f():\n    d = await T()\n    d.run()\n", "d", None, False),
        ("def f():\n    d: T = T()\n    d.run()\n", "d", None, False),
        ("x = T()\n", "x", None, False),
    ],
    ids=[
        "used-after",
        "returned",
        "passed",
        "in-a-list",
        "aliased",
        "closure",
        "subscript-elements",
        "parenthesized-tuple",
        "a-default-is-not-a-use",
        "semicolon",
        "same-line-suite",
        "iterated-rebinds",
        "awaited",
        "annotated",
        "module-level",
    ],
)
def test_bound_name_escape_and_context_manager(
    body: str, bound: str, escape: str | None, cm: bool
) -> None:
    [call] = _calls(body)
    assert (call.bound_name, call.escape, call.cm_eligible) == (bound, escape, cm)


@pytest.mark.parametrize(
    ("body", "storage", "escape"),
    [
        ("x = T()\n", Storage.MODULE_LEVEL, None),
        ("class C:\n    x = T()\n", Storage.CLASS_BODY, None),
        ("def f():\n    global G\n    G = T()\n", Storage.GLOBAL, "stored in a module global"),
        (
            "class C:\n    @classmethod\n    def m(cls):\n        cls.d = T()\n",
            Storage.CLASS_ATTRIBUTE,
            "stored on an attribute",
        ),
        ("import functools\n@functools.lru_cache\ndef f():\n    return T()\n", None, "returned"),
    ],
    ids=["module", "class-body", "global", "class-attribute", "cached-getter-returned"],
)
def test_where_an_instance_is_stored(
    body: str, storage: Storage | None, escape: str | None
) -> None:
    [call] = _calls(body)
    expected = Storage.CACHED_GETTER if "lru_cache" in body else storage
    assert (call.storage, call.escape) == (expected, escape)


def test_forms_and_targets() -> None:
    body = (
        "import functools\n"
        "from dataclasses import field\n"
        "p = functools.partial((T), 1)\n"
        "class K(T):\n"
        "    f: int = field(default_factory=T)\n"
        "    def __init__(self, u):\n"
        "        super().__init__(u)\n"
        "def g(flag):\n"
        "    cls = T if flag else U\n"
        "    return cls()\n"
    )
    calls = _calls(body)
    assert [(c.form, c.callee_text, c.targets) for c in calls] == [
        (CallForm.PARTIAL, "(T)", ("m.T",)),
        (CallForm.FACTORY_REF, "T", ("m.T",)),
        (CallForm.BASE_INIT, "super().__init__", ("m.T",)),
        # `U` is bound nowhere: only `T` is a target.
        (CallForm.RUNTIME_CHOICE, "cls", ("m.T",)),
    ]


def test_bindings_classes_and_functions() -> None:
    text = (
        "from m import *\n"
        "from . import sib\n"
        "from ..up import D as E\n"
        "import a.b, c.d as cd\n"
        "X = None\n"
        "Y = E\n"
        "try:\n"
        "    pass\n"
        f"{EXCEPT_GROUP} ValueError as V:\n"
        "    pass\n"
        "class K(E):\n"
        "    def __init__(self, a, /, b, *c, k, **kw):\n"
        "        self.ctx = a\n"
        "    async def run(self, u: 'E', v: E | None) -> None:\n"
        "        w: E = u\n"
        "        self.helper()\n"
    )
    facts = extract(text, "pkg/sub/mod.py", "pkg.sub.mod", False, frozenset({"E"}))
    assert [(b.name, b.target, b.line, b.how) for b in facts.bindings] == [
        ("pkg.sub.mod.sib", "pkg.sub.sib", 2, "import"),
        ("pkg.sub.mod.E", "pkg.up.D", 3, "import-as"),
        ("pkg.sub.mod.cd", "c.d", 4, "import-as"),
        ("pkg.sub.mod.X", "m.None", 5, "assign"),
        ("pkg.sub.mod.Y", "pkg.up.D", 6, "assign"),
    ]
    [cls] = facts.classes
    assert (cls.qualname, cls.line, cls.bases, cls.init_params, cls.init_star_kwargs) == (
        "pkg.sub.mod.K",
        11,
        ("pkg.up.D",),
        ("a", "b"),
        True,
    )
    assert cls.self_attributes == ("ctx",)
    init, run = facts.functions
    assert [p.name for p in init.params] == ["self", "a", "b", "k"]
    assert run.is_async and run.calls == ("pkg.sub.mod.K.helper",)
    assert [(p.name, p.annotation) for p in run.params] == [
        ("self", ()),
        ("u", ("pkg.up.D",)),
        # `None` is a name, as it was for LibCST: here found through the star import.
        ("v", ("pkg.up.D", "m.None")),
    ]
    assert [(p.name, p.annotation) for p in run.annotated_locals] == [("w", ("pkg.up.D",))]


def test_identifiers_are_read_as_python_reads_them() -> None:
    """Python normalises identifiers (NFKC): `ToolDispatⅽher` (U+217D) is `ToolDispatcher`."""
    text = "from m import ToolDispatcher\nx = ToolDispat\u217dher()\n"
    [call] = extract(text, "a.py", "a", False, NAMES).calls
    assert call.targets == ("m.ToolDispatcher",)


def test_suppression_comments() -> None:
    facts = _facts("x = T()  # migrator: ignore[singleton] later\ny = 1  # migrator\n")
    assert facts.suppressions == ((2, "# migrator: ignore[singleton] later"),)


# ------------------------------------------------------------------ deep code


@pytest.mark.parametrize(
    "body",
    [
        "def f(a):\n    if " + " and ".join(["a"] * 3000) + ":\n        return T()\n",
        "def f():\n    return T(\n" + "".join(f"        's{i}'\n" for i in range(1000)) + "    )\n",
        "def f(a):\n    return T(" + " + ".join(["a"] * 1500) + ")\n",
        "def f(a):\n    return T(" + "a." * 2000 + "b)\n",
    ],
    ids=["and-chain-3000", "joined-strings-1000", "plus-chain-1500", "attribute-chain-2000"],
)
def test_deep_valid_code_is_analysed(body: str) -> None:
    [call] = _calls(body)
    assert call.escape == "returned" and call.targets == ("m.T",)


def test_a_chain_too_deep_for_cpython_is_an_error_of_that_file_not_a_crash() -> None:
    text = HEADER + "x = T(" + " + ".join(["a"] * 10_000) + ")\n"
    relpath, facts, error = filestore.extract_source(
        ("deep.py", text.encode(), "deep", False, NAMES, frozenset())
    )
    if sys.version_info < (3, 11):
        # 3.10's parser takes the chain: then the extractor must analyse it, not crash.
        assert error is None and facts is not None and facts.calls
        return
    assert (relpath, facts) == ("deep.py", None)
    assert error is not None and error.startswith("too deeply nested for Python's own parser")


# ------------------------------------------------------------------ what CPython refuses


@pytest.mark.parametrize(
    "text",
    ["x = (1,\n", "def f(:\n    pass\n", "x = " + "(" * 250 + ")" * 250 + "\n", "a b\n"],
    ids=["unclosed", "bad-parameter", "too-many-parentheses", "two-names"],
)
def test_a_syntax_error_is_cpythons_message_at_cpythons_position(text: str) -> None:
    with pytest.raises(SyntaxError) as expected:
        compile(text, "f.py", "exec")
    with pytest.raises(ExtractionError) as refused:
        extract(text, "f.py", "f", False, NAMES)
    error = expected.value
    assert (
        str(refused.value)
        == f"syntax error at line {error.lineno}, column {error.offset}: {error.msg}"
    )


NEWER = [
    ("type Alias = int\n", (3, 12), "Python 3.12"),
    ("def first[T](items: list[T]) -> T:\n    return items[0]\n", (3, 12), "Python 3.12"),
    ("class Box[T]:\n    pass\n", (3, 12), "Python 3.12"),
    ('d = {\'a\': 1}\nx = f"{d["a"]}"\n', (3, 12), "Python 3.12 or later (PEP 701)"),
    ("try:\n    pass\nexcept* ValueError:\n    pass\n", (3, 11), "Python 3.11"),
    ("def first[T = int](items: list[T]) -> T:\n    return items[0]\n", (3, 13), "Python 3.13"),
]


@pytest.mark.parametrize(
    ("text", "version", "said"),
    NEWER,
    ids=[
        "type-alias",
        "generic-function",
        "generic-class",
        "pep-701-f-string",
        "except-star",
        "type-parameter-default",
    ],
)
def test_newer_syntax_says_which_python_parses_it(
    text: str, version: tuple[int, int], said: str
) -> None:
    if sys.version_info >= version:
        assert extract(text, "f.py", "f", False, NAMES).relpath == "f.py"
        return
    with pytest.raises(ExtractionError) as refused:
        extract(text, "f.py", "f", False, NAMES)
    message = str(refused.value)
    assert message.startswith("syntax error at line ") and said in message, message
    running = f"{sys.version_info[0]}.{sys.version_info[1]}"
    assert f"migrator runs on Python {running}" in message


# ------------------------------------------------------------------ one parse per file


def test_each_candidate_is_parsed_once(monkeypatch: pytest.MonkeyPatch) -> None:
    parsed: list[str] = []
    real_parse = ast.parse

    def counting(source: str, *args: object, **kwargs: object) -> ast.AST:
        parsed.append(source)
        return real_parse(source, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(ast, "parse", counting)
    text = HEADER + "def f():\n    return T()\n"
    _, facts, error = filestore.extract_source(
        ("a.py", text.encode(), "a", False, NAMES, frozenset())
    )
    assert error is None and facts is not None and len(facts.calls) == 1
    assert parsed == [text]


# ------------------------------------------------------------------ fix on what LibCST cannot print


def test_a_form_feed_at_the_start_of_a_line_never_makes_fix_write_a_wrong_file(
    tmp_path: Path,
) -> None:
    """LibCST drops a form feed at the start of a line when it prints a module, and
    places nodes by its own printing: fix either rewrites the site into code that
    compiles, or leaves the file unchanged with a reason."""
    from migrator.config import Config
    from migrator.fixer import plan_fixes, write_changes
    from migrator.rules import load_rule_set

    text = (
        "from netra_backend.app.agents.tool_dispatcher import ToolDispatcher\n\n\n"
        "async def handle(user_context):\n"
        "\x0c    d = ToolDispatcher(user_context=None)\n"
        "    await d.dispatch('x')\n"
    )
    [call] = extract(text, "ff.py", "ff", False, NAMES).calls
    assert (call.span.line, call.span.column) == (5, 9)  # the form feed is a character
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
