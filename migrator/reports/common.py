"""What every report format says the same way: kind texts, a site's status, its plan in words."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from migrator.gate import is_failing, status, verdict
from migrator.model import AuditResult, Finding, Kind
from migrator.suppress import expired_fingerprints

__all__ = ["KIND_TEXT", "GateSummary", "gate_summary", "is_failing", "status"]


@dataclass(frozen=True)
class KindText:
    title: str
    short: str
    full: str
    guidance: str


KIND_TEXT: Mapping[Kind, KindText] = {
    Kind.SINGLETON: KindText(
        "Singleton dispatcher",
        "A dispatcher that every user shares.",
        "A dispatcher class constructed without a user context (missing or None), or a "
        "dispatcher kept where all users share it: a module global, a class attribute, a "
        "cached getter. Tools, events and state registered for one user leak to every other.",
        "Create the dispatcher per request from the user's context with the rule pack's "
        "request-scoped factory, e.g. `await UnifiedToolDispatcherFactory.create_request_scoped("
        "user_context, ...)`, or wrap its uses in `async with UnifiedToolDispatcherFactory."
        "create_scoped_context(user_context, ...) as dispatcher:`. `migrator fix --diff` "
        "rewrites the sites whose plan is `factory` or `context-manager`; a `manual` plan "
        "says what a person must decide first.",
    ),
    Kind.LEGACY_FACTORY: KindText(
        "Legacy global factory",
        "A call to a deprecated factory that returns a shared dispatcher.",
        "A call to a legacy global factory (`create_legacy_global`, "
        "`create_legacy_tool_dispatcher`, `create_tool_dispatcher`, ...): it returns one "
        "process-wide dispatcher shared by every user.",
        "Replace the call with the request-scoped factory and pass the user's context: "
        "`await UnifiedToolDispatcherFactory.create_request_scoped(user_context, tools=...)`. "
        "`migrator fix --diff` rewrites it when a user context is in scope in an async function.",
    ),
    Kind.SUPER_INIT_NONE: KindText(
        "Subclass calls its base without a user context",
        "A dispatcher subclass whose `__init__` drops the user context.",
        "A subclass `__init__` that calls the dispatcher base `__init__` (`super().__init__` "
        "or `Base.__init__(self, ...)`) without a user context, so every instance of the "
        "subclass is global.",
        "Give the subclass a `user_context` parameter and pass it on: "
        "`super().__init__(user_context=user_context, ...)`; then construct it through a "
        "request-scoped factory. This is always manual work.",
    ),
    Kind.DIRECT_SCOPED: KindText(
        "Direct construction with a user context",
        "Isolated per user, but bypasses the factory.",
        "A dispatcher constructed directly with a non-None user context: isolated, but it "
        "skips the factory's set-up (event emitter, permissions, cleanup).",
        "Use the request-scoped factory instead of the constructor, or the scoped context "
        "manager so the dispatcher is cleaned up when the request ends. `migrator fix` "
        "rewrites it when the plan is `factory` or `context-manager`.",
    ),
    Kind.MIGRATED: KindText(
        "Request-scoped factory call",
        "Migrated: the dispatcher comes from the request-scoped factory.",
        "A call to a request-scoped factory or scoped context manager. Nothing to do.",
        "Nothing to do: this site is migrated.",
    ),
    Kind.UNCERTAIN: KindText(
        "Cannot be decided statically",
        "The analysis cannot tell whether this dispatcher is isolated.",
        "A construction whose user context may hide in forwarded `*args`/`**kwargs`, or "
        "whose class is chosen at run time.",
        "Pass the user context explicitly (or pick the class explicitly), then run migrator "
        "again; if the site is fine as it is, suppress it with "
        "`# migrator: ignore[uncertain] <reason>`.",
    ),
}


def plan_words(finding: Finding) -> str:
    """`factory`, `context-manager`, `manual: <reason>`, or `done` for migrated sites."""
    if finding.fix is None:
        return "done"
    if finding.fix.reason:
        return f"{finding.fix.action.value}: {finding.fix.reason}"
    return finding.fix.action.value


def where_words(finding: Finding) -> str:
    where = finding.scope.function or finding.scope.class_name or finding.scope.level.value
    if finding.scope.function is None and finding.scope.class_name:
        where = f"class {where}"
    return f"async {where}" if finding.scope.is_async else where


def location(finding: Finding) -> str:
    return f"{finding.path}:{finding.span.line}"


def sorted_findings(result: AuditResult) -> list[Finding]:
    return sorted(
        result.findings, key=lambda f: (f.path, f.span.line, f.span.column, f.fingerprint)
    )


@dataclass(frozen=True)
class GateSummary:
    total: int
    by_kind: dict[Kind, int]
    blocking: int
    suppressed: int
    baselined: int
    expired: int
    progress: float
    gone: tuple[Mapping[str, Any], ...]
    #: Files not analysed that fail the gate.
    failing_errors: int = 0

    @property
    def passed(self) -> bool:
        return not self.blocking and not self.failing_errors


def gate_summary(result: AuditResult, fail_on: Sequence[Kind]) -> GateSummary:
    expired = expired_fingerprints(result)
    states = [status(f, fail_on, expired) for f in result.findings]
    baseline = result.extra.get("baseline")
    gone = tuple(baseline.get("gone", ())) if isinstance(baseline, Mapping) else ()
    decision = verdict(result, fail_on)
    return GateSummary(
        total=len(result.findings),
        by_kind=result.by_kind(),
        blocking=len(decision.findings),
        failing_errors=len(decision.errors),
        suppressed=states.count("suppressed"),
        baselined=states.count("baselined"),
        expired=states.count("expired"),
        progress=result.progress,
        gone=gone,
    )
