"""Rewrite a dispatcher construction or legacy factory call to the awaited request-scoped factory.

## What it does
Replaces each site whose fix plan is `factory` with
`await <Factory>.create_request_scoped(user_context=<context>, ...)`, mapping every
constructor argument onto the factory as the rule pack says (kept, renamed, or
dropped when `None`), and imports the factory in the file's existing style.

## Why
A dispatcher built without a user context (or by the legacy global factory) is
shared by every user: tools, results and events leak between requests. The
factory creates one dispatcher per request, bound to that request's context.

## Example
Before:
```python
async def handle(user_context: UserExecutionContext, tools):
    dispatcher = ToolDispatcher(tools=tools)
    return dispatcher
```
After:
```python
async def handle(user_context: UserExecutionContext, tools):
    dispatcher = await UnifiedToolDispatcherFactory.create_request_scoped(user_context=user_context, tools=tools)
    return dispatcher
```

## Fix safety
Only sites planned `factory` by the audit are touched: inside an `async def`, with
a user context in scope (or passed), every argument mappable. A call used as a
receiver (`ToolDispatcher().dispatch(...)`) is parenthesised as
`(await ...).dispatch(...)` so the `await` applies to the factory call only.
Imports of the old names are removed when nothing uses them any more; imports
under `if TYPE_CHECKING:` are never touched.

## Known limits
Sites are matched by their position in the audit, so the input must be the file
the findings were computed on. `*args`/`**kwargs` calls are left alone (the audit
plans them `manual`). The factory returns the base class: subclasses are never
rewritten.

Run standalone: `python -m libcst.tool codemod factory_call.RewriteToFactory
--findings audit.json --rules rules/tool-dispatcher.yaml src/` (see docs/codemods.md).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

import libcst as cst
from libcst.codemod import CodemodContext, VisitorBasedCodemodCommand
from libcst.metadata import PositionProvider

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


class RewriteToFactory(VisitorBasedCodemodCommand):
    DESCRIPTION = (
        "Rewrite singleton dispatcher constructions to `await Factory.create_request_scoped(...)`."
    )
    METADATA_DEPENDENCIES = (PositionProvider,)

    def __init__(
        self,
        context: CodemodContext,
        rules: RuleSet | str | None = None,
        findings: Sequence[Finding] | str | None = None,
        include_context_manager: bool = False,
    ) -> None:
        init_codemod(self, context)
        self.rules = load_rules(rules)
        actions = {FixAction.FACTORY}
        if include_context_manager:
            # `--style factory`: sites where both rewrites are safe get the factory.
            actions.add(FixAction.CONTEXT_MANAGER)
        self.sites = sites(load_findings(findings, context), actions)
        self.rewritten: list[Finding] = []
        self._awaits: set[int] = set()
        self._needed_imports: list[CallTarget] = []
        self._old_roots: set[str] = set()

    @staticmethod
    def add_args(arg_parser: argparse.ArgumentParser) -> None:
        arg_parser.add_argument("--rules", default=None, help="Rule pack file or shipped pack id.")
        arg_parser.add_argument(
            "--findings", required=True, help="JSON from `migrator audit --format json`."
        )
        arg_parser.add_argument(
            "--include-context-manager",
            action="store_true",
            help="Also rewrite context-manager sites.",
        )

    def visit_Module(self, node: cst.Module) -> None:
        self.module_node = node

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.BaseExpression:
        finding = self.sites.get(site_key(self.get_metadata(PositionProvider, original_node)))
        if finding is None:
            return updated_node
        rewrite = plan_rewrite(self.rules, finding, updated_node, manager=False)
        if rewrite is None:
            # The audit planned a rewrite this code cannot express: leave it for a person.
            self.warn(
                f"{finding.path}:{finding.line}: arguments could not be mapped; left unchanged"
            )
            return updated_node
        if imports_itself(self.context, rewrite.target):
            # The factory's own module: the rewrite would import it into itself.
            self.warn(
                f"{finding.path}:{finding.line}: the rewrite would import this module into itself; left unchanged"
            )
            return updated_node
        callee, needs_import = callee_for(self.module_node, rewrite.target)
        if needs_import:
            self._needed_imports.append(rewrite.target)
        old_root = root_name(original_node.func)
        if old_root is not None:
            self._old_roots.add(old_root)
        new_call = build_call(updated_node, rewrite, callee)
        self.rewritten.append(finding)
        if not rewrite.target.awaitable:
            return new_call
        awaited = cst.Await(
            expression=new_call.with_changes(lpar=[], rpar=[]),
            lpar=new_call.lpar,
            rpar=new_call.rpar,
        )
        self._awaits.add(id(awaited))
        return awaited

    def _parenthesise(self, value: cst.BaseExpression) -> cst.BaseExpression:
        if id(value) in self._awaits and isinstance(value, cst.Await) and not value.lpar:
            return value.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
        return value

    def leave_Attribute(
        self, original_node: cst.Attribute, updated_node: cst.Attribute
    ) -> cst.Attribute:
        return updated_node.with_changes(value=self._parenthesise(updated_node.value))

    def leave_Subscript(
        self, original_node: cst.Subscript, updated_node: cst.Subscript
    ) -> cst.Subscript:
        return updated_node.with_changes(value=self._parenthesise(updated_node.value))

    def leave_Module(self, original_node: cst.Module, updated_node: cst.Module) -> cst.Module:
        if not self.rewritten:
            return updated_node
        return update_imports(updated_node, self._needed_imports, self._old_roots)
