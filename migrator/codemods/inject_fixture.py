"""Give a test that builds a dispatcher without a context the pack's test-context fixture.

## What it does
For each site whose plan says `inject` (test code with no user context in scope,
issue 13), adds the pack's fixture (`testing.fixture`, say `user_context`) as a
parameter of the function that encloses the site: after `self`/`cls` and the
other parameters, before `*args`, keyword-only parameters and any parameter with
a default. The other codemods then rewrite the site with that parameter as its
context.

## Why
A test has no request, so it has no user context; pytest can give it one per test
through a fixture, which is exactly the temporary context the migration needs.

## Example
Before:
```python
async def test_echo(tmp_path):
    dispatcher = ToolDispatcher(tools=[echo])
    ...
```
After this codemod (the context-manager codemod then wraps the site):
```python
async def test_echo(tmp_path, user_context):
    dispatcher = ToolDispatcher(tools=[echo])
    ...
```

## Fix safety
Only functions the audit planned for injection are touched: pytest tests,
test methods of plain classes and function-scoped fixtures, where pytest passes
fixtures by name (so the parameter's position changes no call). A parameter of
that name is never added twice. A trailing comma and one-parameter-per-line
layouts are kept.

## Known limits
The fixture itself is not defined here: `migrator fix` defines it in the pack's
conftest when no test can see one. Run standalone, make sure the fixture exists.

Run standalone: `python -m libcst.tool codemod inject_fixture.InjectFixture
--findings audit.json src/` (see docs/codemods.md).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

import libcst as cst
from libcst.codemod import CodemodContext, VisitorBasedCodemodCommand
from libcst.metadata import PositionProvider

from migrator.codemods._support import init_codemod, load_findings, site_key, sites
from migrator.model import Finding, FixAction


class InjectFixture(VisitorBasedCodemodCommand):
    DESCRIPTION = "Add the test-context fixture as a parameter of tests that build a dispatcher."
    METADATA_DEPENDENCIES = (PositionProvider,)

    def __init__(
        self, context: CodemodContext, findings: Sequence[Finding] | str | None = None
    ) -> None:
        init_codemod(self, context)
        found = sites(
            load_findings(findings, context),
            {FixAction.FACTORY, FixAction.CONTEXT_MANAGER, FixAction.DIRECT},
        )
        self.sites = {key: f for key, f in found.items() if f.fix is not None and f.fix.inject}
        #: The fixture each open function must receive (None: nothing to add).
        self._stack: list[set[str]] = []
        #: Names of the functions that gained a parameter, for the summary.
        self.injected: list[str] = []

    @staticmethod
    def add_args(arg_parser: argparse.ArgumentParser) -> None:
        arg_parser.add_argument(
            "--findings", required=True, help="JSON from `migrator audit --format json`."
        )

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._stack.append(set())

    def visit_Call(self, node: cst.Call) -> None:
        finding = self.sites.get(site_key(self.get_metadata(PositionProvider, node)))
        if finding is not None and finding.fix is not None and finding.fix.inject and self._stack:
            self._stack[-1].add(finding.fix.inject)

    def leave_FunctionDef(
        self, original_node: cst.FunctionDef, updated_node: cst.FunctionDef
    ) -> cst.FunctionDef:
        wanted = self._stack.pop()
        params = updated_node.params
        for name in sorted(wanted):
            present = [*params.posonly_params, *params.params, *params.kwonly_params]
            if any(p.name.value == name for p in present) or name in _star_names(params):
                continue
            params = params.with_changes(params=_with_param(list(params.params), name))
            self.injected.append(updated_node.name.value)
        return updated_node.with_changes(params=params)


def _star_names(params: cst.Parameters) -> set[str]:
    names = set()
    for star in (params.star_arg, params.star_kwarg):
        if isinstance(star, cst.Param):
            names.add(star.name.value)
    return names


def _with_param(params: list[cst.Param], name: str) -> list[cst.Param]:
    """`params` with `name` after the last parameter without a default (pytest passes by name)."""
    new = cst.Param(name=cst.Name(name))
    index = next((i for i, p in enumerate(params) if p.default is not None), len(params))
    if index < len(params):
        # Before the first parameter with a default: a parameter without one may not follow it.
        new = new.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
        return [*params[:index], new, *params[index:]]
    if params and isinstance(params[-1].comma, cst.Comma):
        # A trailing comma (often one parameter per line): the new one takes the last's
        # layout, and the last takes its neighbour's (or a plain space).
        last = params[-1]
        between = (
            params[-2].comma
            if len(params) > 1 and isinstance(params[-2].comma, cst.Comma)
            else cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
        )
        return [*params[:-1], last.with_changes(comma=between), new.with_changes(comma=last.comma)]
    return [*params, new]
