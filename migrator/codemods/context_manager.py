"""Wrap a dispatcher's whole life in `async with <Factory>.create_scoped_context(...) as name:`.

## What it does
For each site planned `context-manager`, the assignment `name = ToolDispatcher(...)`
and the statements after it in the same block that use `name`, or a value made
from it without awaiting it (`tasks = [name.dispatch(x) for x in xs]`, a bound
method), become an `async with` statement whose body is those statements, so that
nothing made from the dispatcher runs after it is closed. Statements after the
last such use stay after the block. A sync context manager (`async: false`)
becomes a plain `with`. Comments above the assignment stay above the
`async with`; a comment at the end of the assignment line moves to its header.

## Why
The context manager creates a request-scoped dispatcher and always cleans it up,
also on errors and cancellation, so nothing of one request survives into another.

## Example
Before:
```python
async def handle(user_context):
    dispatcher = ToolDispatcher(user_context=user_context)
    result = await dispatcher.dispatch("search", q="x")
    return result.value
```
After:
```python
async def handle(user_context):
    async with UnifiedToolDispatcherFactory.create_scoped_context(user_context=user_context) as dispatcher:
        result = await dispatcher.dispatch("search", q="x")
        return result.value
```

## Fix safety
The audit plans `context-manager` only when the name is bound by a simple
assignment in an `async def`, never reassigned, never escaping (returned, yielded,
stored, captured, passed to a call), used only in later statements of the same
block, and the context manager accepts every argument. Otherwise the plan is
`factory` (or `manual`). Moving a `return` inside the block keeps its meaning:
the context manager exits after the value is computed.

## Known limits
Sites are matched by position, so run it on the file the findings describe, and
before `factory_call` (which shifts columns). A name used in an `except`/`finally`
clause of an enclosing `try` is not in the same block, so such sites are `factory`.
"""

from __future__ import annotations

import argparse
import ast
import textwrap
from collections.abc import Sequence

import libcst as cst
from libcst.codemod import CodemodContext, VisitorBasedCodemodCommand
from libcst.metadata import PositionProvider

from migrator.astfacts import statement_parts
from migrator.codemods._support import (
    build_call,
    callee_for,
    imports_itself,
    init_codemod,
    load_findings,
    load_rules,
    plan_rewrite,
    root_name,
    site_key,
    sites,
    update_imports,
)
from migrator.model import Finding, FixAction
from migrator.rules import CallTarget, RuleSet
from migrator.scopes import StatementNames, block_reach


def _statement_parts(
    statement: cst.BaseStatement, calls_finish: bool
) -> tuple[StatementNames, ...]:
    """The block-boundary parts of a statement, read by the analysis's own rule
    (`migrator.astfacts.statement_parts`) from the statement's code."""
    code = textwrap.dedent(cst.Module(body=[]).code_for_node(statement))
    tree = ast.parse(code)
    return tuple(part for inner in tree.body for part in statement_parts(inner, calls_finish))


class RewriteToContextManager(VisitorBasedCodemodCommand):
    DESCRIPTION = (
        "Wrap request-local dispatchers in `async with Factory.create_scoped_context(...)`."
    )
    METADATA_DEPENDENCIES = (PositionProvider,)

    def __init__(
        self,
        context: CodemodContext,
        rules: RuleSet | str | None = None,
        findings: Sequence[Finding] | str | None = None,
    ) -> None:
        init_codemod(self, context)
        self.rules = load_rules(rules)
        self.sites = sites(load_findings(findings, context), {FixAction.CONTEXT_MANAGER})
        self.rewritten: list[Finding] = []
        self._needed_imports: list[CallTarget] = []
        self._old_roots: set[str] = set()
        #: Whether each enclosing function is `async`, innermost last.
        self._functions: list[bool] = []

    @staticmethod
    def add_args(arg_parser: argparse.ArgumentParser) -> None:
        arg_parser.add_argument("--rules", default=None, help="Rule pack file or shipped pack id.")
        arg_parser.add_argument(
            "--findings", required=True, help="JSON from `migrator audit --format json`."
        )

    def visit_Module(self, node: cst.Module) -> None:
        self.module_node = node

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._functions.append(node.asynchronous is not None)

    def leave_FunctionDef(
        self, original_node: cst.FunctionDef, updated_node: cst.FunctionDef
    ) -> cst.FunctionDef:
        self._functions.pop()
        return updated_node

    def _site(self, statement: cst.BaseStatement) -> tuple[Finding, str, cst.Call] | None:
        if not (isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1):
            return None
        assign = statement.body[0]
        if not (
            isinstance(assign, cst.Assign)
            and len(assign.targets) == 1
            and isinstance(assign.targets[0].target, cst.Name)
            and isinstance(assign.value, cst.Call)
        ):
            return None
        finding = self.sites.get(site_key(self.get_metadata(PositionProvider, assign.value)))
        if finding is None:
            return None
        return finding, assign.targets[0].target.value, assign.value

    def leave_IndentedBlock(
        self, original_node: cst.IndentedBlock, updated_node: cst.IndentedBlock
    ) -> cst.IndentedBlock:
        original_body = list(original_node.body)
        body = list(updated_node.body)
        # Walk backwards so earlier indexes stay valid as later statements are folded in.
        for index in range(len(original_body) - 1, -1, -1):
            site = self._site(original_body[index])
            if site is None:
                continue
            finding, name, original_call = site
            updated_statement = body[index]
            assert isinstance(updated_statement, cst.SimpleStatementLine)
            updated_assign = updated_statement.body[0]
            assert isinstance(updated_assign, cst.Assign) and isinstance(
                updated_assign.value, cst.Call
            )
            # Every later use of the dispatcher, and of what was made from it without
            # being awaited (coroutines, tasks, bound methods), stays inside the block.
            sync = bool(self._functions) and not self._functions[-1]
            parts = [_statement_parts(s, sync) for s in body[index + 1 :]]
            reach, _ = block_reach(name, parts)
            last = index + 1 + reach if reach is not None else None
            rewrite = plan_rewrite(self.rules, finding, updated_assign.value, manager=True)
            if last is None or rewrite is None:
                # The audit's plan no longer fits this code; a person decides.
                self.warn(
                    f"{finding.path}:{finding.line}: context-manager rewrite not possible; left unchanged"
                )
                continue
            if imports_itself(self.context, rewrite.target):
                # The factory's own module: the rewrite would import it into itself.
                self.warn(
                    f"{finding.path}:{finding.line}: the rewrite would import this module into itself; left unchanged"
                )
                continue
            callee, needs_import = callee_for(self.module_node, rewrite.target)
            if needs_import:
                self._needed_imports.append(rewrite.target)
            old_root = root_name(original_call.func)
            if old_root is not None:
                self._old_roots.add(old_root)
            manager_call = build_call(updated_assign.value, rewrite, callee)
            inner = body[index + 1 : last + 1]
            with_statement = cst.With(
                items=[cst.WithItem(item=manager_call, asname=cst.AsName(name=cst.Name(name)))],
                body=cst.IndentedBlock(body=inner, header=updated_statement.trailing_whitespace),
                asynchronous=cst.Asynchronous() if rewrite.target.awaitable else None,
                leading_lines=updated_statement.leading_lines,
            )
            body[index : last + 1] = [with_statement]
            self.rewritten.append(finding)
        return updated_node.with_changes(body=body)

    def leave_Module(self, original_node: cst.Module, updated_node: cst.Module) -> cst.Module:
        if not self.rewritten:
            return updated_node
        return update_imports(updated_node, self._needed_imports, self._old_roots)
