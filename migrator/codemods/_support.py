"""Shared plumbing of the codemods: their inputs, the factory call they build, imports.

Not a codemod itself. Imports only migrator's model (findings, rules, the pure
argument mapping), never its engine or CLI.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import libcst as cst
from libcst.codemod import Codemod, CodemodContext, ContextAwareTransformer

from migrator.mapping import map_arguments
from migrator.model import Finding, FixAction, Kind, finding_from_json
from migrator.rules import CallTarget, ClassRule, LegacyFactoryRule, RuleSet, load_rule_set

_EMPTY = cst.Module(body=[])


#: Codemod classes whose real constructor found no `@visit`/`@leave` matcher functions.
_WITHOUT_MATCHERS: set[type] = set()


def init_codemod(codemod: ContextAwareTransformer, context: CodemodContext) -> None:
    """`VisitorBasedCodemodCommand.__init__`, without repeating LibCST's matcher search.

    LibCST's matcher base walks `dir()` of every new instance (about a thousand
    methods, 16 ms) looking for matcher-decorated methods, twice: in the
    constructor (`@visit`/`@leave` functions) and again on the first node visited
    (`@call_if_inside` gates). Our codemods have none, and that cannot change
    between instances of a class: the first instance runs the real constructor and
    the gate search, and when both found nothing, later instances set the same
    attributes directly. `tests/test_codemods_registry.py` checks that the state is
    identical to that of LibCST's constructor followed by its gate search.
    """
    from libcst.matchers._visitors import _gather_matchers

    cls = type(codemod)
    if cls not in _WITHOUT_MATCHERS:
        ContextAwareTransformer.__init__(codemod, context)
        gates = _gather_matchers(codemod)
        codemod._MatcherDecoratableTransformer__matchers = gates  # type: ignore[attr-defined]
        if not codemod._extra_visit_funcs and not codemod._extra_leave_funcs and not gates:
            _WITHOUT_MATCHERS.add(cls)
        return
    Codemod.__init__(codemod, context)
    cst.CSTTransformer.__init__(codemod)
    codemod._MatcherDecoratableTransformer__matchers = {}  # type: ignore[attr-defined]
    codemod._extra_visit_funcs = {}
    codemod._extra_leave_funcs = {}


def load_rules(rules: RuleSet | str | Sequence[str] | None) -> RuleSet:
    if isinstance(rules, RuleSet):
        return rules
    if rules is None:
        return load_rule_set([])
    return load_rule_set([rules] if isinstance(rules, str) else list(rules))


def load_findings(
    findings: Sequence[Finding] | str | None, context: CodemodContext
) -> list[Finding]:
    """Findings for the file being transformed; a string is the path of an audit JSON."""
    if findings is None:
        return []
    if isinstance(findings, str):
        document = json.loads(Path(findings).read_text(encoding="utf-8"))
        items = [finding_from_json(item) for item in document.get("findings", [])]
        filename = (context.filename or "").replace("\\", "/").removeprefix("./")
        paths = {f.path for f in items}
        if filename in paths:
            chosen = filename
        else:
            # The runner may name files relative to another folder: take the one
            # audited path that is the longest suffix, never several.
            suffixes = [p for p in paths if filename.endswith("/" + p)]
            if not suffixes:
                return []
            chosen = max(suffixes, key=len)
        return [f for f in items if f.path == chosen]
    return list(findings)


SiteKey = tuple[int, int, int, int]


def site_key(code_range: object) -> SiteKey:
    """The full span of a node: a call and the call on its result start at the same place."""
    start = code_range.start  # type: ignore[attr-defined]
    end = code_range.end  # type: ignore[attr-defined]
    return (start.line, start.column, end.line, end.column)


def sites(findings: Iterable[Finding], actions: set[FixAction]) -> dict[SiteKey, Finding]:
    """Rewritable findings by their full span."""
    return {
        (f.span.line, f.span.column, f.span.end_line, f.span.end_column): f
        for f in findings
        if f.fix is not None
        and f.fix.action in actions
        and not f.suppressed
        and f.kind is not Kind.MIGRATED
    }


@dataclass(frozen=True)
class Rewrite:
    target: CallTarget
    arguments: tuple[tuple[str, cst.Arg], ...]


def plan_rewrite(rules: RuleSet, finding: Finding, call: cst.Call, manager: bool) -> Rewrite | None:
    """Map `call`'s arguments onto the rule's factory (or context manager); None when impossible."""
    rule, legacy = _rules_for(rules, finding.rule)
    if rule is None:
        return None
    target = rule.context_manager if manager else rule.factory
    if target is None:
        return None
    if legacy is not None:
        signature, argument_rules, context_parameter = legacy.signature, legacy.arguments, None
    else:
        signature, argument_rules, context_parameter = (
            rule.signature,
            rule.arguments,
            rule.context_parameter,
        )
    if finding.signature is not None:
        # The audit read the call through an older signature (`legacy_signatures`).
        signature = finding.signature
    if any(arg.star for arg in call.args):
        return None
    positional = [arg for arg in call.args if arg.keyword is None]
    keywords = [(arg.keyword.value, arg) for arg in call.args if arg.keyword is not None]
    context = (
        cst.Arg(value=cst.parse_expression(finding.context))
        if finding.context is not None
        else None
    )
    mapped = map_arguments(
        signature=signature,
        rules=argument_rules,
        context_parameter=context_parameter,
        target=target,
        positional=positional,
        keywords=keywords,
        is_none=lambda arg: isinstance(arg.value, cst.Name) and arg.value.value == "None",
        context=context,
    )
    if mapped.problem is not None:
        return None
    return Rewrite(target, mapped.arguments)


def imports_itself(context: CodemodContext, target: CallTarget) -> bool:
    """Whether calling `target` here would make this module import itself (a factory's own module)."""
    module = context.full_module_name
    return module is not None and (
        module == target.module or module.startswith(target.module + ".__init__")
    )


def _rules_for(rules: RuleSet, rule_id: str) -> tuple[ClassRule | None, LegacyFactoryRule | None]:
    for pack in rules.packs:
        for legacy in pack.legacy_factories:
            if legacy.id == rule_id:
                for inner in rules.packs:
                    created = inner.class_rule(legacy.creates)
                    if created is not None:
                        return created, legacy
        found = pack.class_rule(rule_id)
        if found is not None:
            return found, None
        for method in pack.factory_methods:
            if method.id == rule_id and method.creates is not None:
                # A legacy factory method: its own arguments are unknown (no signature).
                created = pack.class_rule(method.creates)
                legacy = LegacyFactoryRule(
                    id=method.id,
                    qualified_name=method.qualified_name,
                    aliases=(),
                    creates=method.creates,
                    signature=(),
                    arguments=(),
                    description=method.description,
                )
                return created, legacy
    return None, None


def relayout(
    origins: Sequence[int | None],
    original_commas: Sequence[cst.Comma | cst.MaybeSentinel],
    opening: cst.BaseParenthesizableWhitespace | None,
) -> list[cst.Comma | cst.MaybeSentinel]:
    """Separators for a rebuilt list of arguments or import names, in the original's layout.

    `origins[i]` is the original index of new item `i` (None for an inserted item).
    Items keep their own separator; the new last item takes the original last one
    (trailing comma or not); inserted items, and old last items that are no longer
    last, get the separator of the layout: one item per line when the text after
    the opening parenthesis holds a newline, else `", "`.
    """
    one_per_line = opening is not None and "\n" in _code(opening)
    template: cst.Comma = (
        cst.Comma(whitespace_after=opening)  # type: ignore[arg-type]
        if one_per_line
        else cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
    )
    last_original = len(original_commas) - 1
    trailing = original_commas[-1] if original_commas else cst.MaybeSentinel.DEFAULT
    commas: list[cst.Comma | cst.MaybeSentinel] = []
    for index, origin in enumerate(origins):
        if index == len(origins) - 1:
            commas.append(trailing)
        elif (
            origin is None
            or origin == last_original
            or not isinstance(original_commas[origin], cst.Comma)
        ):
            commas.append(template)
        else:
            commas.append(original_commas[origin])
    return commas


def build_call(call: cst.Call, rewrite: Rewrite, callee: cst.BaseExpression) -> cst.Call:
    """The factory call, keeping the original layout of argument separators."""
    positions = {id(arg): index for index, arg in enumerate(call.args)}
    origins = [positions.get(id(original)) for _, original in rewrite.arguments]
    commas = relayout(origins, [arg.comma for arg in call.args], call.whitespace_before_args)
    args = [
        cst.Arg(
            value=original.value,
            keyword=cst.Name(name),
            equal=cst.AssignEqual(
                whitespace_before=cst.SimpleWhitespace(""),
                whitespace_after=cst.SimpleWhitespace(""),
            ),
            comma=comma,
        )
        for (name, original), comma in zip(rewrite.arguments, commas, strict=True)
    ]
    return cst.Call(
        func=callee,
        args=args,
        lpar=call.lpar,
        rpar=call.rpar,
        whitespace_after_func=call.whitespace_after_func,
        whitespace_before_args=call.whitespace_before_args if args else cst.SimpleWhitespace(""),
    )


def _code(node: cst.CSTNode) -> str:
    return _EMPTY.code_for_node(node)


# ----------------------------------------------------------------------------- imports


def callee_for(module: cst.Module, target: CallTarget) -> tuple[cst.BaseExpression, bool]:
    """How this file should spell `target`, and whether a `from ... import` must be added.

    The file's existing style wins: `import pkg.mod as m` gives `m.Factory.create`,
    `import pkg.mod` gives the dotted path, otherwise `from pkg.mod import Factory`.
    """
    for statement in _top_level_imports(module):
        if isinstance(statement, cst.Import):
            for alias in statement.names:
                if _code(alias.name) == target.module:
                    prefix = _bound_name(alias, target.module)
                    return cst.parse_expression(f"{prefix}.{target.attribute_path}"), False
        elif isinstance(statement, cst.ImportFrom) and not isinstance(
            statement.names, cst.ImportStar
        ):
            if statement.module is not None and not statement.relative:
                # `from pkg import module as m`: the module itself is imported.
                for alias in statement.names:
                    if f"{_code(statement.module)}.{_code(alias.name)}" == target.module:
                        local = _bound_name(alias, _code(alias.name))
                        return cst.parse_expression(f"{local}.{target.attribute_path}"), False
            if (
                statement.module is not None
                and not statement.relative
                and _code(statement.module) == target.module
            ):
                for alias in statement.names:
                    if _code(alias.name) == target.import_name:
                        local = _bound_name(alias, target.import_name)
                        rest = target.attribute_path[len(target.import_name) :]
                        return cst.parse_expression(f"{local}{rest}"), False
    # The same name imported from another module (a re-export, such as a shim package
    # over the real one) is reused rather than shadowed by a second import.
    for statement in _top_level_imports(module):
        if isinstance(statement, cst.ImportFrom) and not isinstance(
            statement.names, cst.ImportStar
        ):
            for alias in statement.names:
                if _code(alias.name) == target.import_name and alias.asname is None:
                    rest = target.attribute_path[len(target.import_name) :]
                    return cst.parse_expression(f"{target.import_name}{rest}"), False
    return cst.parse_expression(target.attribute_path), True


def _is_type_checking(test: cst.BaseExpression) -> bool:
    """`TYPE_CHECKING` or `typing.TYPE_CHECKING`."""
    if isinstance(test, cst.Name):
        return test.value == "TYPE_CHECKING"
    return isinstance(test, cst.Attribute) and test.attr.value == "TYPE_CHECKING"


def _blocks(
    body: Sequence[cst.BaseStatement], runtime_only: bool, depth: int = 0
) -> Iterable[Sequence[cst.BaseStatement]]:
    """Statement lists that run when the module is imported: the module's body and the
    bodies of its top-level `try` and `if` statements (`if TYPE_CHECKING:` bodies only
    when `runtime_only` is False). Function and class bodies are never included."""
    yield body
    if depth > 3:
        return
    for statement in body:
        inner: list[Sequence[cst.BaseStatement]] = []
        if isinstance(statement, cst.Try):
            inner.append(_suite(statement.body))
            inner.extend(_suite(handler.body) for handler in statement.handlers)
            for part in (statement.orelse, statement.finalbody):
                if part is not None:
                    inner.append(_suite(part.body))
        elif isinstance(statement, cst.If):
            if not (runtime_only and _is_type_checking(statement.test)):
                inner.append(_suite(statement.body))
            orelse = statement.orelse
            if isinstance(orelse, cst.Else):
                inner.append(_suite(orelse.body))
            elif isinstance(orelse, cst.If):
                inner.extend(_blocks([orelse], runtime_only, depth + 1))
                continue
        for block in inner:
            yield from _blocks(block, runtime_only, depth + 1)


def _suite(suite: cst.BaseSuite) -> Sequence[cst.BaseStatement]:
    """The statements of an indented block (a one-line `try: x` suite holds none we edit)."""
    return suite.body if isinstance(suite, cst.IndentedBlock) else ()


def _top_level_imports(module: cst.Module) -> Iterable[cst.Import | cst.ImportFrom]:
    """Imports that run when the module is imported (also inside `try:`; never under
    `if TYPE_CHECKING:`, which does not exist at run time)."""
    for block in _blocks(module.body, runtime_only=True):
        for statement in block:
            if isinstance(statement, cst.SimpleStatementLine):
                for small in statement.body:
                    if isinstance(small, (cst.Import, cst.ImportFrom)):
                        yield small


def _merged(small: cst.ImportFrom, name: str) -> cst.ImportFrom:
    """`small` with `name` added, in sorted position when its names are sorted."""
    assert not isinstance(small.names, cst.ImportStar)
    names = list(small.names)
    existing = [_code(a.name) for a in names]
    position = len(names)
    if existing == sorted(existing):
        position = next((i for i, n in enumerate(existing) if n > name), len(names))
    origins: list[int | None] = list(range(len(names)))
    origins.insert(position, None)
    names.insert(position, cst.ImportAlias(name=cst.Name(name)))
    opening = small.lpar.whitespace_after if small.lpar is not None else None
    commas = relayout(origins, [a.comma for a in small.names], opening)
    fixed = [a.with_changes(comma=c) for a, c in zip(names, commas, strict=True)]
    return small.with_changes(names=fixed)


def _import_from(small: cst.BaseSmallStatement, module_name: str) -> bool:
    return (
        isinstance(small, cst.ImportFrom)
        and small.module is not None
        and not small.relative
        and _code(small.module) == module_name
        and not isinstance(small.names, cst.ImportStar)
    )


def _binds(small: cst.BaseSmallStatement, name: str) -> bool:
    if not isinstance(small, (cst.Import, cst.ImportFrom)) or isinstance(
        small.names, cst.ImportStar
    ):
        return False
    return any(_local_name(alias) == name for alias in small.names)


def add_import(module: cst.Module, target: CallTarget, anchors: Sequence[str] = ()) -> cst.Module:
    """Add `from target.module import Name` where the file keeps its imports.

    Merged into a runtime import from that module wherever it is (also inside
    `try:`). Otherwise, when the name being replaced (`anchor`) is imported inside a
    `try:` (an optional import), the new import goes right beside it, in the same
    block; else among the top-level imports.
    """
    name = target.import_name
    top = set(map(id, module.body))
    for block in _blocks(module.body, runtime_only=True):
        if any(id(statement) in top for statement in block):
            continue  # the top level: handled below, with its own layout rules
        for statement in block:
            if isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1:
                small = statement.body[0]
                if _import_from(small, target.module):
                    assert isinstance(small, cst.ImportFrom)
                    assert not isinstance(small.names, cst.ImportStar)
                    if any(_code(a.name) == name for a in small.names):
                        return module
                    replaced = module.deep_replace(small, _merged(small, name))
                    assert isinstance(replaced, cst.Module)
                    return replaced
    if (
        not any(
            isinstance(s, cst.SimpleStatementLine)
            and any(_import_from(x, target.module) for x in s.body)
            for s in module.body
        )
        and anchors
    ):
        for block in _blocks(module.body, runtime_only=True):
            if any(id(statement) in top for statement in block):
                continue
            for statement in block:
                if isinstance(statement, cst.SimpleStatementLine) and any(
                    _binds(small, anchor) for small in statement.body for anchor in anchors
                ):
                    new_line = cst.parse_statement(f"from {target.module} import {name}")
                    return _insert_after(module, statement, new_line)
    body = list(module.body)
    for index, statement in enumerate(body):
        if not isinstance(statement, cst.SimpleStatementLine) or len(statement.body) != 1:
            continue
        small = statement.body[0]
        if (
            isinstance(small, cst.ImportFrom)
            and small.module is not None
            and not small.relative
            and _code(small.module) == target.module
            and not isinstance(small.names, cst.ImportStar)
        ):
            if any(_code(a.name) == name for a in small.names):
                return module
            body[index] = statement.with_changes(body=[_merged(small, name)])
            return module.with_changes(body=body)
    new_line = cst.parse_statement(f"from {target.module} import {name}")
    # Insert among the top-level `from` imports: sorted position when they are sorted, else last.
    import_positions = [
        i
        for i, s in enumerate(body)
        if isinstance(s, cst.SimpleStatementLine)
        and any(isinstance(x, (cst.Import, cst.ImportFrom)) for x in s.body)
    ]
    if not import_positions:
        insert_at = _after_docstring_and_future(body)
        return module.with_changes(body=[*body[:insert_at], new_line, *body[insert_at:]])
    keys = [(i, _code(body[i]).strip()) for i in import_positions]
    new_key = _code(new_line).strip()
    contiguous_from = [
        (i, k) for i, k in keys if k.startswith("from ") and not k.startswith("from __future__")
    ]
    insert_at = import_positions[-1] + 1
    if contiguous_from and [k for _, k in contiguous_from] == sorted(k for _, k in contiguous_from):
        later = [i for i, k in contiguous_from if k > new_key]
        insert_at = later[0] if later else contiguous_from[-1][0] + 1
    if insert_at < len(body) and insert_at in import_positions:
        # Take over the leading blank lines / comments of the statement we push down.
        pushed = body[insert_at]
        new_line = new_line.with_changes(leading_lines=pushed.leading_lines)
        body[insert_at] = pushed.with_changes(leading_lines=())
    return module.with_changes(body=[*body[:insert_at], new_line, *body[insert_at:]])


class _InsertAfter(cst.CSTTransformer):
    def __init__(self, anchor: cst.BaseStatement, new: cst.BaseStatement) -> None:
        self.anchor = anchor
        self.new = new

    def leave_IndentedBlock(
        self, original_node: cst.IndentedBlock, updated_node: cst.IndentedBlock
    ) -> cst.IndentedBlock:
        if any(statement is self.anchor for statement in original_node.body):
            body: list[cst.BaseStatement] = []
            for original, updated in zip(original_node.body, updated_node.body, strict=True):
                body.append(updated)
                if original is self.anchor:
                    body.append(self.new)
            return updated_node.with_changes(body=body)
        return updated_node


def _insert_after(
    module: cst.Module, anchor: cst.BaseStatement, new: cst.BaseStatement
) -> cst.Module:
    return module.visit(_InsertAfter(anchor, new))


def _after_docstring_and_future(body: Sequence[cst.BaseStatement]) -> int:
    index = 0
    first = body[0] if body else None
    if (
        isinstance(first, cst.SimpleStatementLine)
        and isinstance(first.body[0], cst.Expr)
        and isinstance(first.body[0].value, (cst.SimpleString, cst.ConcatenatedString))
    ):
        index = 1
    while index < len(body) and "from __future__" in _code(body[index]):
        index += 1
    return index


class _NameUses(cst.CSTVisitor):
    """Names read anywhere in the module; a name only bound (`X = None` in the
    `except ImportError:` fallback, a stub `class X:`) is not a use of an import."""

    def __init__(self) -> None:
        self.names: set[str] = set()
        self._bound: set[int] = set()

    def visit_Import(self, node: cst.Import) -> bool:
        return False

    def visit_ImportFrom(self, node: cst.ImportFrom) -> bool:
        return False

    def visit_Assign(self, node: cst.Assign) -> None:
        self._bound.update(id(t.target) for t in node.targets if isinstance(t.target, cst.Name))

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        if isinstance(node.target, cst.Name):
            self._bound.add(id(node.target))

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self._bound.add(id(node.name))

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._bound.add(id(node.name))

    def visit_Name(self, node: cst.Name) -> None:
        if id(node) not in self._bound:
            self.names.add(node.value)

    def visit_Attribute(self, node: cst.Attribute) -> bool:
        node.value.visit(self)
        return False

    def visit_SimpleString(self, node: cst.SimpleString) -> None:
        # A string annotation such as "ToolDispatcher" still uses the import.
        text = node.value.strip("\"'")
        if text.isidentifier():
            self.names.add(text)


def _without(
    small: cst.Import | cst.ImportFrom, unused: set[str]
) -> cst.Import | cst.ImportFrom | None:
    """`small` without the aliases that bind `unused` names; None when none is left."""
    assert not isinstance(small.names, cst.ImportStar)
    kept_indexes = [i for i, a in enumerate(small.names) if _local_name(a) not in unused]
    if not kept_indexes:
        return None
    if len(kept_indexes) == len(small.names):
        return small
    opening = (
        small.lpar.whitespace_after
        if isinstance(small, cst.ImportFrom) and small.lpar is not None
        else None
    )
    commas = relayout(kept_indexes, [a.comma for a in small.names], opening)
    kept = [small.names[i].with_changes(comma=c) for i, c in zip(kept_indexes, commas, strict=True)]
    return small.with_changes(names=kept)


def _only_fallbacks(handler: cst.ExceptHandler, unused: set[str]) -> bool:
    """An `except ImportError:` whose body only binds `unused` names (or passes)."""
    caught = handler.type
    names = [e.value for e in caught.elements] if isinstance(caught, cst.Tuple) else [caught]
    if not names or not all(
        isinstance(n, cst.Name) and n.value in {"ImportError", "ModuleNotFoundError"} for n in names
    ):
        return False
    for statement in _suite(handler.body):
        if not isinstance(statement, cst.SimpleStatementLine):
            return False
        for small in statement.body:
            if isinstance(small, cst.Pass):
                continue
            if not (
                isinstance(small, cst.Assign)
                and all(
                    isinstance(t.target, cst.Name) and t.target.value in unused
                    for t in small.targets
                )
            ):
                return False
    return True


class _RemoveNested(cst.CSTTransformer):
    """Drop unused imports inside module-level `try:` and `if` blocks (also `if TYPE_CHECKING:`).

    A block left empty gets `pass`; a `try:` left with only `pass` whose handlers only
    bind the removed names to fallbacks, or an `if TYPE_CHECKING:` left with only
    `pass` and no `else`, is removed whole.
    """

    def __init__(self, editable: set[int], unused: set[str]) -> None:
        self.editable = editable
        self.unused = unused
        self.emptied: set[int] = set()

    def leave_IndentedBlock(
        self, original_node: cst.IndentedBlock, updated_node: cst.IndentedBlock
    ) -> cst.IndentedBlock:
        if not any(id(s) in self.editable for s in original_node.body):
            return updated_node
        body: list[cst.BaseStatement] = []
        for original, updated in zip(original_node.body, updated_node.body, strict=True):
            if (
                id(original) in self.editable
                and isinstance(updated, cst.SimpleStatementLine)
                and len(updated.body) == 1
                and isinstance(updated.body[0], (cst.Import, cst.ImportFrom))
                and not isinstance(updated.body[0].names, cst.ImportStar)
            ):
                small = _without(updated.body[0], self.unused)
                if small is None:
                    continue
                updated = updated.with_changes(body=[small])
            body.append(updated)
        if not body:
            self.emptied.add(id(original_node))
            body = [cst.SimpleStatementLine(body=[cst.Pass()])]
        return updated_node.with_changes(body=body)

    def leave_Try(
        self, original_node: cst.Try, updated_node: cst.Try
    ) -> cst.Try | cst.RemovalSentinel:
        if (
            id(original_node.body) in self.emptied
            and updated_node.orelse is None
            and updated_node.finalbody is None
            and all(_only_fallbacks(h, self.unused) for h in updated_node.handlers)
        ):
            return cst.RemovalSentinel.REMOVE
        return updated_node

    def leave_If(self, original_node: cst.If, updated_node: cst.If) -> cst.If | cst.RemovalSentinel:
        if (
            _is_type_checking(original_node.test)
            and id(original_node.body) in self.emptied
            and updated_node.orelse is None
        ):
            return cst.RemovalSentinel.REMOVE
        return updated_node


def remove_unused_imports(module: cst.Module, candidates: Iterable[str]) -> cst.Module:
    """Drop imports of `candidates` that nothing uses any more, wherever the module keeps
    them: at the top level, in `try:` / `except ImportError:` and under `if TYPE_CHECKING:`.
    """
    wanted = set(candidates)
    if not wanted:
        return module
    uses = _NameUses()
    module.visit(uses)
    unused = wanted - uses.names
    if not unused:
        return module
    top = set(map(id, module.body))
    editable = {
        id(statement)
        for block in _blocks(module.body, runtime_only=False)
        for statement in block
        if id(statement) not in top
    }
    if editable:
        module = module.visit(_RemoveNested(editable, unused))
    body: list[cst.BaseStatement] = []
    carried: Sequence[cst.EmptyLine] = ()
    for statement in module.body:
        if isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1:
            small = statement.body[0]
            if isinstance(small, (cst.Import, cst.ImportFrom)) and not isinstance(
                small.names, cst.ImportStar
            ):
                kept = _without(small, unused)
                if kept is None:
                    # The blank lines above a removed import separate import groups:
                    # hand them to the next import so the grouping survives.
                    carried = statement.leading_lines
                    continue
                statement = statement.with_changes(body=[kept])
                if carried:
                    statement = statement.with_changes(
                        leading_lines=[*carried, *statement.leading_lines]
                    )
                    carried = ()
        elif carried:
            carried = ()  # the removed import ended its group; the code keeps its own spacing
        body.append(statement)
    return module.with_changes(body=body)


def _bound_name(alias: cst.ImportAlias, default: str) -> str:
    """The name an import alias binds: its `as` name, else `default`."""
    if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
        return alias.asname.name.value
    return default


def _local_name(alias: cst.ImportAlias) -> str:
    if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
        return alias.asname.name.value
    return _code(alias.name).split(".")[0]


def update_imports(
    module: cst.Module, targets: Iterable[CallTarget], old_roots: Iterable[str]
) -> cst.Module:
    """After a rewrite: import the targets the file now calls, drop the old names left unused."""
    roots = sorted(set(old_roots))
    for target in targets:
        module = add_import(module, target, roots)
    return remove_unused_imports(module, roots)


def root_name(expr: cst.BaseExpression) -> str | None:
    while isinstance(expr, cst.Attribute):
        expr = expr.value
    return expr.value if isinstance(expr, cst.Name) else None
