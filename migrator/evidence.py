"""Whether a value passed where the user context goes is evidently a user context.

Code written against an older signature (`Dispatcher(tools, websocket_bridge)`)
puts a tools list where the context parameter now is. Read through today's
signature, such a call looks like it passes a context; it does not. So a value
counts as a context only on evidence (docs/analysis.md, "Evidence for the
context"):

- for: a name or attribute the pack names (`context.names`, `context.attributes`),
  a name annotated with the context type, a call of the context class or of a
  constructor the pack lists (`context.constructors`);
- against: a literal or display (list, dict, set, tuple, comprehension, string,
  number, lambda), a name annotated with another type, a call of another class;
- otherwise none either way.

The value is read from the argument's source text with CPython's `ast`; names are
resolved through the file's module bindings and the linker's alias table.
"""

from __future__ import annotations

import ast
import enum
from dataclasses import dataclass

from migrator.facts import FileFacts, FunctionFacts, ParamFacts
from migrator.resolve import Linker

#: Annotations that say nothing about the type.
_UNINFORMATIVE = frozenset({"typing.Any", "typing_extensions.Any", "builtins.object"})

_DISPLAYS: dict[type[ast.AST], str] = {
    ast.List: "a list",
    ast.Tuple: "a tuple",
    ast.Set: "a set",
    ast.Dict: "a dict",
    ast.ListComp: "a list comprehension",
    ast.SetComp: "a set comprehension",
    ast.DictComp: "a dict comprehension",
    ast.GeneratorExp: "a generator expression",
    ast.JoinedStr: "a string",
    ast.Lambda: "a lambda",
}

#: Builtins whose call makes a plain value, never a context.
_BUILTIN_VALUES = frozenset(
    {"list", "dict", "set", "tuple", "frozenset", "str", "int", "float", "bool", "bytes", "object"}
)


class Verdict(str, enum.Enum):
    FOR = "for"
    AGAINST = "against"
    NONE = "none"


@dataclass(frozen=True)
class Evidence:
    verdict: Verdict
    #: What the value is, for people: "a list", "`tools`, annotated as list".
    what: str
    #: The value is a literal or a display (list, dict, comprehension, string, ...).
    display: bool = False


def context_evidence(
    text: str, facts: FileFacts, function: FunctionFacts | None, linker: Linker
) -> Evidence:
    """The evidence that the expression `text`, written in `function`, is a user context."""
    try:
        node = ast.parse(text.strip(), mode="eval").body
    except (SyntaxError, ValueError):
        return Evidence(Verdict.NONE, f"`{text}`")
    return _Judge(facts, function, linker).judge(node, text)


class _Judge:
    def __init__(self, facts: FileFacts, function: FunctionFacts | None, linker: Linker) -> None:
        self.facts = facts
        self.function = function
        self.linker = linker
        rules = linker.rules
        self.names = frozenset(rules.context_names)
        self.attributes = frozenset(rules.context_attributes) | self.names
        self.constructors = rules.context_constructors
        self.depth = 0

    def judge(self, node: ast.expr, text: str) -> Evidence:
        kind = type(node)
        if kind in _DISPLAYS:
            return Evidence(Verdict.AGAINST, _DISPLAYS[kind], display=True)
        if isinstance(node, ast.Constant):
            return Evidence(Verdict.AGAINST, _constant(node.value), display=True)
        if isinstance(node, ast.Name):
            return self._name(node.id)
        if isinstance(node, ast.Attribute):
            if node.attr.lstrip("_") in self.attributes:
                return Evidence(Verdict.FOR, f"`{text}`")
            return Evidence(Verdict.NONE, f"`{text}`")
        if isinstance(node, ast.Call):
            return self._call(node, text)
        if isinstance(node, ast.IfExp):
            sides = [self.judge(node.body, text), self.judge(node.orelse, text)]
            if all(side.verdict is Verdict.FOR for side in sides):
                return Evidence(Verdict.FOR, f"`{text}`")
        return Evidence(Verdict.NONE, f"`{text}`")

    def _param(self, name: str) -> ParamFacts | None:
        if self.function is None:
            return None
        for group in (self.function.annotated_locals, self.function.params):
            for param in group:
                if param.name == name:
                    return param
        return None

    def _name(self, name: str) -> Evidence:
        given = dict(self.function.parametrized).get(name) if self.function else None
        if given is not None and _literal_values(given):
            # `@pytest.mark.parametrize("user_context", [None, "anonymous"])`.
            return Evidence(
                Verdict.AGAINST, f"`{name}`, parametrized with literal values", display=True
            )
        param = self._param(name)
        if param is not None and param.annotated:
            if param.annotation and self.linker.is_context_type(param.annotation):
                return Evidence(Verdict.FOR, f"`{name}`")
            if not set(param.annotation) <= _UNINFORMATIVE or not param.annotation:
                shown = ", ".join(a.rsplit(".", 1)[-1] for a in param.annotation) or "another type"
                return Evidence(Verdict.AGAINST, f"`{name}`, annotated as {shown}")
        value = self._assigned(name)
        if value is not None and self.depth < 3:
            # `context = {...}` or `context = UserExecutionContext.from_request(...)`:
            # what the name was bound to decides, before what it is called.
            self.depth += 1
            try:
                node = ast.parse(value.strip(), mode="eval").body
            except (SyntaxError, ValueError):
                node = None
            if node is not None:
                bound = self.judge(node, value)
                if bound.verdict is not Verdict.NONE:
                    return Evidence(
                        bound.verdict, f"`{name}`, bound to {bound.what}", bound.display
                    )
        if name in self.names:
            return Evidence(Verdict.FOR, f"`{name}`")
        return Evidence(Verdict.NONE, f"`{name}`, with nothing to show it is a context")

    def _assigned(self, name: str) -> str | None:
        if self.function is None:
            return None
        return dict(self.function.assigned).get(name)

    def _resolve(self, func: ast.expr) -> str | None:
        """The qualified name a callee written in this module denotes, when it is a module name."""
        parts: list[str] = []
        while isinstance(func, ast.Attribute):
            parts.append(func.attr)
            func = func.value
        if not isinstance(func, ast.Name) or self._param(func.id) is not None:
            return None
        dotted = ".".join([func.id, *reversed(parts)])
        return self.linker.canonical(f"{self.facts.module}.{dotted}")[0]

    def _call(self, node: ast.Call, text: str) -> Evidence:
        func = node.func
        short = ast.unparse(func)
        if isinstance(func, ast.Attribute) and func.attr in self.constructors:
            return Evidence(Verdict.FOR, f"a call of {short}")
        qualified = self._resolve(func)
        if qualified is not None:
            if self.linker.is_context_type([qualified]) or qualified in self.constructors:
                return Evidence(Verdict.FOR, f"a call of {short}")
            owner = qualified.rsplit(".", 1)[0]
            if isinstance(func, ast.Attribute) and self.linker.is_context_type([owner]):
                # A class method of the context class (`UserExecutionContext.from_request`).
                return Evidence(Verdict.FOR, f"a call of {short}")
        if isinstance(func, ast.Name) and func.id in _BUILTIN_VALUES:
            return Evidence(Verdict.AGAINST, f"a {func.id}")
        last = short.rsplit(".", 1)[-1]
        if last[:1].isupper():
            # Calling a class makes an instance of it: another class than the context's.
            return Evidence(Verdict.AGAINST, f"a {last} (a call of {short})")
        return Evidence(Verdict.NONE, f"a call of {short}")


def _literal_values(text: str) -> bool:
    """A list or tuple of literals (None, strings, numbers, tuples of those)."""
    try:
        node = ast.parse(text.strip(), mode="eval").body
    except (SyntaxError, ValueError):
        return False
    if not isinstance(node, (ast.List, ast.Tuple)) or not node.elts:
        return False
    return all(_is_literal(element) for element in node.elts)


def _is_literal(node: ast.expr) -> bool:
    if isinstance(node, ast.Constant):
        return True
    if isinstance(node, (ast.Tuple, ast.List)):
        return all(_is_literal(element) for element in node.elts)
    return False


def _constant(value: object) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bytes):
        return "bytes"
    if isinstance(value, (int, float, complex)):
        return "a number"
    return "a constant"


_ORDINALS = ("first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth")


def ordinal(index: int) -> str:
    return _ORDINALS[index] if index < len(_ORDINALS) else f"{index + 1}th"
