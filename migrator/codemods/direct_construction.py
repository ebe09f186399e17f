"""Build a dispatcher directly with the user context where nothing can await (`sync: direct`).

## What it does
For each site planned `direct` (a class whose rule says `sync: direct`, built in a
plain `def` with a user context in scope or a test context injected), rewrites the
construction to pass the context by keyword, every argument by keyword as the
class's signature names it: `ToolDispatcher(tools=tools)` becomes
`ToolDispatcher(user_context=user_context, tools=tools)`. The site is then
`direct-scoped`: isolated per request, without the factory.

## Why
A factory that must be awaited cannot be called from a `def`; making every caller
async can be a large change. Building the class directly with the context is
isolated today, and the pack decides whether that is acceptable.

## Example
Before:
```python
def build(user_context, tools):
    return ToolDispatcher(tools=tools)
```
After:
```python
def build(user_context, tools):
    return ToolDispatcher(user_context=user_context, tools=tools)
```

## Fix safety
Only sites the audit planned `direct` are touched, and only when the pack opted in
per class. The callee is kept as written (no import changes). A `None` context is
replaced; a site that already passes a context is left as it is.

## Known limits
Legacy factories are not rewritten this way (their class would have to be
imported); they stay `manual: not-async`. `*args`/`**kwargs` calls are left alone.

Run standalone: `python -m libcst.tool codemod direct_construction.BuildDirectly
--findings audit.json --rules rules/tool-dispatcher.yaml src/` (see docs/codemods.md).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

import libcst as cst
from libcst.codemod import CodemodContext, VisitorBasedCodemodCommand
from libcst.metadata import PositionProvider

from migrator.codemods._support import (
    Rewrite,
    build_call,
    init_codemod,
    load_findings,
    load_rules,
    site_key,
    sites,
)
from migrator.mapping import map_arguments
from migrator.model import Finding, FixAction, Kind
from migrator.rules import RuleSet


class BuildDirectly(VisitorBasedCodemodCommand):
    DESCRIPTION = "Build dispatchers directly with the user context in sync code (`sync: direct`)."
    METADATA_DEPENDENCIES = (PositionProvider,)

    def __init__(
        self,
        context: CodemodContext,
        rules: RuleSet | str | None = None,
        findings: Sequence[Finding] | str | None = None,
    ) -> None:
        init_codemod(self, context)
        self.rules = load_rules(rules)
        found = sites(load_findings(findings, context), {FixAction.DIRECT})
        # A site that already passes a context is what `direct` asks for: nothing to do.
        self.sites = {k: f for k, f in found.items() if f.kind is not Kind.DIRECT_SCOPED}
        self.rewritten: list[Finding] = []

    @staticmethod
    def add_args(arg_parser: argparse.ArgumentParser) -> None:
        arg_parser.add_argument("--rules", default=None, help="Rule pack file or shipped pack id.")
        arg_parser.add_argument(
            "--findings", required=True, help="JSON from `migrator audit --format json`."
        )

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.BaseExpression:
        finding = self.sites.get(site_key(self.get_metadata(PositionProvider, original_node)))
        if finding is None or finding.context is None:
            return updated_node
        rule = next((r for r in self.rules.classes if r.id == finding.rule), None)
        target = rule.direct_target if rule is not None else None
        if rule is None or target is None or any(arg.star for arg in updated_node.args):
            self.warn(f"{finding.path}:{finding.line}: cannot build directly; left unchanged")
            return updated_node
        mapped = map_arguments(
            signature=rule.signature,
            rules=(),
            context_parameter=rule.context_parameter,
            target=target,
            positional=[arg for arg in updated_node.args if arg.keyword is None],
            keywords=[(a.keyword.value, a) for a in updated_node.args if a.keyword is not None],
            is_none=lambda arg: isinstance(arg.value, cst.Name) and arg.value.value == "None",
            context=cst.Arg(value=cst.parse_expression(finding.context)),
        )
        if mapped.problem is not None:
            self.warn(
                f"{finding.path}:{finding.line}: arguments could not be mapped; left unchanged"
            )
            return updated_node
        self.rewritten.append(finding)
        return build_call(updated_node, Rewrite(target, mapped.arguments), updated_node.func)
