"""The vocabulary of migrator: site kinds, fix plans, findings and per-file results.

Everything here is a frozen dataclass or an enum, with no behaviour beyond
serialisation helpers, so that the engine, the codemods and the report renderers
can share it without importing each other.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any


class Kind(str, enum.Enum):
    """What a dispatcher creation site is (DESIGN.md, "The domain"; contract)."""

    SINGLETON = "singleton"
    LEGACY_FACTORY = "legacy-factory"
    SUPER_INIT_NONE = "super-init-none"
    DIRECT_SCOPED = "direct-scoped"
    MIGRATED = "migrated"
    UNCERTAIN = "uncertain"

    def __str__(self) -> str:
        return self.value


#: Kinds that block `audit` unless `--fail-on` says otherwise.
DEFAULT_FAIL_ON: tuple[Kind, ...] = (Kind.SINGLETON, Kind.LEGACY_FACTORY, Kind.SUPER_INIT_NONE)

#: Kinds in the order reports list them.
KIND_ORDER: tuple[Kind, ...] = (
    Kind.SINGLETON,
    Kind.LEGACY_FACTORY,
    Kind.SUPER_INIT_NONE,
    Kind.DIRECT_SCOPED,
    Kind.UNCERTAIN,
    Kind.MIGRATED,
)


class FixAction(str, enum.Enum):
    """How a site can be migrated (contract)."""

    FACTORY = "factory"
    CONTEXT_MANAGER = "context-manager"
    #: Where nothing can await and the pack allows it (`sync: direct`): the class
    #: built directly with the context in scope, a `direct-scoped` site.
    DIRECT = "direct"
    MANUAL = "manual"

    def __str__(self) -> str:
        return self.value


class ManualReason(str, enum.Enum):
    """Machine-readable reasons why a site is left for a person.

    `unmapped-argument` and `missing-argument` are followed by `:<name>` in the
    finding's reason string.
    """

    UNCERTAIN = "uncertain"
    KWARGS_FORWARDING = "kwargs-forwarding"
    SUPER_INIT = "super-init"
    CLASS_BODY = "class-body"
    MODULE_LEVEL = "module-level"
    SHARED_INSTANCE = "shared-instance"
    INDIRECT_CONSTRUCTION = "indirect-construction"
    SUBCLASS = "subclass"
    NOT_ASYNC = "not-async"
    NO_CONTEXT_IN_SCOPE = "no-context-in-scope"
    UNMAPPED_ARGUMENT = "unmapped-argument"
    MISSING_ARGUMENT = "missing-argument"
    NO_FACTORY = "no-factory"
    CONTEXT_MISMATCH = "context-mismatch"
    FACTORY_INTERNAL = "factory-internal"
    # Test code (issue 13): why the pack's test-context fixture cannot be injected.
    UNITTEST_METHOD = "unittest-method"
    FIXTURE_SCOPE = "fixture-scope"
    NOT_A_TEST = "not-a-test"
    NAME_TAKEN = "name-taken"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class FixPlan:
    """What `migrator fix` will do with a site, and why."""

    action: FixAction
    reason: str | None
    message: str
    #: For `not-async` sites: the callers (qualified function names) that would
    #: have to become async, nearest first. Empty when unknown or not relevant.
    async_chain: tuple[str, ...] = ()
    #: For a test site without a context: the pytest fixture `fix` adds as a
    #: parameter of the enclosing function, which then provides the context.
    inject: str | None = None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "action": self.action.value,
            "reason": self.reason,
            "message": self.message,
        }
        if self.async_chain:
            data["async_chain"] = list(self.async_chain)
        if self.inject is not None:
            data["inject"] = self.inject
        return data


class ScopeLevel(str, enum.Enum):
    MODULE = "module"
    CLASS = "class"
    FUNCTION = "function"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class Scope:
    """Where a site is: the innermost function (if any) and whether it is async."""

    level: ScopeLevel
    function: str | None
    is_async: bool
    class_name: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "function": self.function,
            "async": self.is_async,
            "level": self.level.value,
            "class": self.class_name,
        }


@dataclass(frozen=True)
class Span:
    """A source range: 1-based lines, 0-based columns (LibCST's positions)."""

    line: int
    column: int
    end_line: int
    end_column: int


@dataclass(frozen=True)
class Finding:
    """One dispatcher creation site."""

    path: str
    span: Span
    rule: str
    kind: Kind
    callee: str
    qualified_name: str
    scope: Scope
    context: str | None
    fix: FixPlan | None
    fingerprint: str
    test_code: bool
    escapes: bool = False
    #: Why the site matched: the chain of aliases from the name used to the rule's class.
    via: tuple[str, ...] = ()
    #: One sentence explaining the kind.
    detail: str = ""
    suppressed: bool = False
    suppression_reason: str | None = None
    baselined: bool = False
    #: The positional signature the arguments were mapped through, when it is not the
    #: rule's own (a pack's `legacy_signatures` reading): the rewrite maps through it too.
    signature: tuple[str, ...] | None = None

    @property
    def line(self) -> int:
        return self.span.line

    @property
    def column(self) -> int:
        return self.span.column

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "line": self.span.line,
            "column": self.span.column,
            "end_line": self.span.end_line,
            "end_column": self.span.end_column,
            "rule": self.rule,
            "kind": self.kind.value,
            "callee": self.callee,
            "qualified_name": self.qualified_name,
            "scope": self.scope.to_json(),
            "context": self.context,
            "fix": self.fix.to_json() if self.fix is not None else None,
            "fingerprint": self.fingerprint,
            "test_code": self.test_code,
            "suppressed": self.suppressed,
            "suppression_reason": self.suppression_reason,
            "baselined": self.baselined,
            "escapes": self.escapes,
            "via": list(self.via),
            "detail": self.detail,
            **({"signature": list(self.signature)} if self.signature is not None else {}),
        }


@dataclass(frozen=True)
class FileError:
    """A file that could not be analysed, with a one-line reason."""

    path: str
    message: str
    #: The configuration names this file as one that may be skipped: it does not
    #: fail the gate (`migrator.gate`).
    allowed: bool = False

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"path": self.path, "message": self.message}
        if self.allowed:
            data["allowed"] = True
        return data


@dataclass(frozen=True)
class AliasNote:
    """A name discovered in the scanned tree that resolves to a rule's target."""

    name: str
    target: str
    path: str
    line: int

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "target": self.target, "path": self.path, "line": self.line}


@dataclass(frozen=True)
class AuditResult:
    """Everything an audit found; input of every report renderer."""

    root: str
    files_scanned: int
    files_analysed: int
    findings: tuple[Finding, ...]
    errors: tuple[FileError, ...]
    aliases: tuple[AliasNote, ...] = ()
    warnings: tuple[str, ...] = ()
    rule_packs: tuple[str, ...] = ()
    cache_hits: int = 0
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    def by_kind(self) -> dict[Kind, int]:
        counts = {kind: 0 for kind in KIND_ORDER}
        for finding in self.findings:
            counts[finding.kind] += 1
        return counts

    @property
    def progress(self) -> float:
        """migrated ÷ (all sites but uncertain); 1.0 when there is nothing to migrate."""
        counts = self.by_kind()
        decided = sum(n for kind, n in counts.items() if kind is not Kind.UNCERTAIN)
        if decided == 0:
            return 1.0
        return counts[Kind.MIGRATED] / decided


def finding_from_json(data: dict[str, Any]) -> Finding:
    """Rebuild a finding from its `audit --format json` form (the codemods' input)."""
    scope = data.get("scope") or {}
    fix = data.get("fix")
    return Finding(
        path=str(data["path"]),
        span=Span(
            int(data["line"]), int(data["column"]), int(data["end_line"]), int(data["end_column"])
        ),
        rule=str(data["rule"]),
        kind=Kind(data["kind"]),
        callee=str(data.get("callee", "")),
        qualified_name=str(data.get("qualified_name", "")),
        scope=Scope(
            level=ScopeLevel(scope.get("level", "function")),
            function=scope.get("function"),
            is_async=bool(scope.get("async", False)),
            class_name=scope.get("class"),
        ),
        context=data.get("context"),
        fix=FixPlan(
            FixAction(fix["action"]),
            fix.get("reason"),
            str(fix.get("message", "")),
            tuple(fix.get("async_chain", ())),
            fix.get("inject"),
        )
        if fix
        else None,
        fingerprint=str(data.get("fingerprint", "")),
        test_code=bool(data.get("test_code", False)),
        escapes=bool(data.get("escapes", False)),
        via=tuple(data.get("via", ())),
        detail=str(data.get("detail", "")),
        suppressed=bool(data.get("suppressed", False)),
        suppression_reason=data.get("suppression_reason"),
        baselined=bool(data.get("baselined", False)),
        signature=tuple(data["signature"]) if data.get("signature") is not None else None,
    )
