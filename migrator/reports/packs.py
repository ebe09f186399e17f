"""What the rule packs say about their rules, in the words reports use.

SARIF rules, JUnit failures and other help texts are made from the packs of
the run (their descriptions, classes, factories and context managers), so a
pack written for a database client reads as one, never as a tool dispatcher.
A finding whose rule is in no pack known here (`report merge` of an audit run
with a pack file it was not given) is described from the finding itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from migrator.model import Finding
from migrator.rules import CallTarget, ClassRule, LegacyFactoryRule, RulePack


@dataclass(frozen=True)
class RuleDoc:
    """One pack rule as reports describe it."""

    id: str
    #: The pack's id, or "" when the rule is known only from a finding.
    pack: str
    #: The class constructed or the legacy factory called.
    target: str
    #: One sentence: the rule's description, else one made from its target.
    short: str
    #: The pack's description and the rule's, with what it targets.
    full: str
    #: How to migrate one of its sites: the pack's factory and context manager.
    how_to_fix: str

    @property
    def name(self) -> str:
        """The id in CamelCase, as SARIF's `name` wants an identifier."""
        return "".join(part.capitalize() for part in self.id.replace("_", "-").split("-"))


def _call(target: CallTarget, context: str | None) -> str:
    argument = target.required[0] if target.required else context
    inner = f"{argument}=..., ..." if argument else "..."
    return f"{target.attribute_path}({inner})"


def _ways(rule: ClassRule) -> tuple[str | None, str | None]:
    """The pack's factory call and context-manager statement for the rule's class."""
    factory = manager = None
    if rule.factory is not None:
        prefix = "await " if rule.factory.awaitable else ""
        call = _call(rule.factory, rule.context_parameter)
        factory = f"`{prefix}{call}` (from `{rule.factory.module}`)"
    if rule.context_manager is not None:
        prefix = "async with" if rule.context_manager.awaitable else "with"
        call = _call(rule.context_manager, rule.context_parameter)
        manager = f"`{prefix} {call} as ...:` (from `{rule.context_manager.module}`)"
    return factory, manager


_NO_FACTORY = "The pack names no request-scoped factory for it: migrate it by hand."


def _how(rule: ClassRule, verb: str, uses: str) -> str:
    """`verb` the pack's factory, or wrap `uses` in its context manager."""
    factory, manager = _ways(rule)
    if factory and manager:
        return f"{verb} {factory}, or wrap {uses} in {manager}."
    if factory or manager:
        return f"{verb} {factory or manager}."
    return _NO_FACTORY


def _context(pack: RulePack) -> str:
    parts = [f"`{t.rsplit('.', 1)[-1]}`" for t in pack.context.types]
    parts += [f"`{n}`" for n in pack.context.names[:3]]
    return f" The user context is found as {', '.join(parts)}." if parts else ""


def _class_doc(pack: RulePack, rule: ClassRule) -> RuleDoc:
    short_name = rule.qualified_name.rsplit(".", 1)[-1]
    short = rule.description or f"Constructions of `{short_name}` that are not request-scoped."
    aliases = (
        f" (also known as {', '.join(f'`{a}`' for a in rule.aliases)})" if rule.aliases else ""
    )
    full = (
        f"{short} Sites: every construction of `{rule.qualified_name}`{aliases}, of its "
        f"subclasses, and of the aliases found in the code.{_context(pack)}"
    )
    if pack.description:
        full = f"{pack.description} {full}"
    return RuleDoc(
        rule.id,
        pack.id,
        rule.qualified_name,
        short,
        full,
        _how(rule, "Create it per request with", "its uses"),
    )


def _factory_doc(pack: RulePack, rule: LegacyFactoryRule) -> RuleDoc:
    created = pack.class_rule(rule.creates)
    short = (
        rule.description or f"`{rule.qualified_name.rsplit('.', 1)[-1]}` returns a shared instance."
    )
    full = f"{short} Sites: every call of the legacy global factory `{rule.qualified_name}`."
    if created is not None:
        full += f" It creates `{created.qualified_name}` (rule `{created.id}`)."
    if pack.description:
        full = f"{pack.description} {full}"
    how = (
        _how(created, "Replace the call with", "the uses of its result")
        if created is not None
        else _NO_FACTORY
    )
    return RuleDoc(rule.id, pack.id, rule.qualified_name, short, full, how)


def rule_docs(packs: Sequence[RulePack]) -> tuple[RuleDoc, ...]:
    """Every rule of the packs, in pack order: classes first, then legacy factories."""
    docs: list[RuleDoc] = []
    for pack in packs:
        docs.extend(_class_doc(pack, rule) for rule in pack.classes)
        docs.extend(_factory_doc(pack, rule) for rule in pack.legacy_factories)
    return tuple(docs)


def from_finding(finding: Finding) -> RuleDoc:
    """A rule known only from one of its findings."""
    short = f"Sites of `{finding.qualified_name}`."
    return RuleDoc(
        finding.rule,
        "",
        finding.qualified_name,
        short,
        f"{short} The rule pack that defines `{finding.rule}` was not loaded.",
        "See the rule pack that defines this rule for its request-scoped factory.",
    )


def docs_for(packs: Sequence[RulePack], findings: Sequence[Finding]) -> tuple[RuleDoc, ...]:
    """The packs' rules, then any rule that only the findings name."""
    docs = list(rule_docs(packs))
    known = {doc.id for doc in docs}
    for finding in findings:
        if finding.rule not in known:
            known.add(finding.rule)
            docs.append(from_finding(finding))
    return tuple(docs)
