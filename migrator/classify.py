"""Turn recorded calls into findings: one kind per site, and a fix plan for every site not migrated.

The order of the plan decisions is the contract of `docs/contracts` in DESIGN.md:
what cannot be decided is `manual` with a reason, and only a rewrite that is
certain is planned as `factory` or `context-manager`.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, replace

from migrator.evidence import Evidence, Verdict, context_evidence, ordinal
from migrator.facts import ArgFacts, CallFacts, CallForm, FileFacts, FunctionFacts, Storage
from migrator.mapping import bind_call, map_arguments
from migrator.model import Finding, FixAction, FixPlan, Kind, ManualReason, ScopeLevel
from migrator.resolve import FamilyMember, Linker, Match, TargetKind, base_call_context
from migrator.rules import CallTarget, ClassRule
from migrator.testcode import injection

_MESSAGES: dict[ManualReason, str] = {
    ManualReason.UNCERTAIN: "The class is chosen at run time; check each choice by hand.",
    ManualReason.KWARGS_FORWARDING: "The user context may be hidden in forwarded *args/**kwargs; "
    "pass it explicitly, then run migrator again.",
    ManualReason.SUPER_INIT: "This subclass must accept a user context and pass it to its base: add a "
    "`user_context` parameter to `__init__` and call `super().__init__(user_context=user_context, ...)`.",
    ManualReason.CLASS_BODY: "A {object} in a class body is shared by every instance and user; "
    "create it per request inside an async method instead.",
    ManualReason.MODULE_LEVEL: "A module-level {object} is shared by every user; create one per request "
    "where a user context exists and pass it down.",
    ManualReason.SHARED_INSTANCE: "The {object} is cached or stored globally, so every user shares it; "
    "remove the cache and create one per request.",
    ManualReason.INDIRECT_CONSTRUCTION: "The class is passed as a factory; replace it with a function that "
    "calls the request-scoped factory with the user context.",
    ManualReason.SUBCLASS: "No factory creates this subclass; give it a request-scoped factory or construct "
    "it with the user context by hand.",
    ManualReason.NOT_ASYNC: "The enclosing function is not async, so the factory cannot be awaited here; "
    "make it (and its callers) async first.",
    ManualReason.NO_CONTEXT_IN_SCOPE: "No user context is in scope; pass a {context} into this "
    "function first.",
    ManualReason.NO_FACTORY: "The rule pack names no factory for this class.",
    ManualReason.CONTEXT_MISMATCH: "The value in the user context's place is not evidently a user "
    "context; check which signature the call was written for, pass the context by keyword, or "
    "list the old signature under the class's `legacy_signatures` in the rule pack.",
    ManualReason.FACTORY_INTERNAL: "This construction is part of a factory's own implementation "
    "(or of a module a rewrite would import into itself); it is where the request-scoped "
    "dispatcher is made, not a site to move onto the factory.",
    ManualReason.UNITTEST_METHOD: "A unittest.TestCase method gets no pytest fixtures; build a test "
    "context in setUp (or move the test to a plain pytest class).",
    ManualReason.FIXTURE_SCOPE: "A fixture wider than function scope cannot take the function-scoped "
    "test context; build one context for the whole scope by hand.",
    ManualReason.NOT_A_TEST: "pytest does not call this function, so it cannot be given the test "
    "context fixture; pass a context in from the test that calls it.",
    ManualReason.NAME_TAKEN: "The test context fixture's name is already bound here with another "
    "meaning (a parameter, a parametrised argument or a fixture of this module); rename one.",
}


#: Words of the plan sentences that depend on the rule pack, with what is said without one.
_OBJECT, _CONTEXT = "{object}", "{context}"
_GENERIC_WORDS = {_OBJECT: "instance", _CONTEXT: "user context"}


def _in_the_packs_words(plan: FixPlan | None, words: dict[str, str]) -> FixPlan | None:
    """The plan's sentence naming the pack's own class and context type (not "dispatcher")."""
    if plan is None or "{" not in plan.message:
        return plan
    message = plan.message
    for placeholder, word in words.items():
        message = message.replace(placeholder, word)
    return replace(plan, message=message)


def _manual(reason: ManualReason | str, detail: str | None = None) -> FixPlan:
    """A manual plan; `reason` is a ManualReason, or `<reason>:<argument>` from the mapping."""
    text = str(reason)
    # ManualReason() refuses a reason outside the vocabulary: that would be a bug here.
    key = ManualReason(text.split(":", 1)[0])
    argument = text.split(":", 1)[1] if ":" in text else ""
    if key is ManualReason.UNMAPPED_ARGUMENT:
        message = f"The factory cannot take the argument `{argument}`; decide how to provide it."
    elif key is ManualReason.MISSING_ARGUMENT:
        message = f"The factory requires `{argument}`, which this call does not pass."
    else:
        message = _MESSAGES[key]
    if detail:
        message = f"{message} {detail}"
    return FixPlan(FixAction.MANUAL, text, message)


class Classifier:
    def __init__(
        self, linker: Linker, *, test_patterns: tuple[str, ...], async_chain_depth: int = 5
    ) -> None:
        self.linker = linker
        self.test_patterns = test_patterns
        self.async_chain_depth = async_chain_depth
        self._callers: dict[str, list[tuple[str, bool]]] | None = None
        #: Set when the engine's search for callers stopped early.
        self.chain_truncated = False

    def findings(self, facts: FileFacts, test_code: bool) -> list[Finding]:
        results: list[Finding] = []
        occurrences: Counter[tuple[str | None, str]] = Counter()
        for call in facts.calls:
            finding = self._classify(facts, call, test_code)
            if finding is None:
                continue
            key = (call.scope.function or call.scope.class_name, formatted_away(call.normalized))
            occurrences[key] += 1
            fingerprint = _fingerprint(facts.relpath, finding.rule, call, occurrences[key])
            results.append(_with_fingerprint(finding, fingerprint))
        return results

    # ------------------------------------------------------------------ kinds

    def _classify(self, facts: FileFacts, call: CallFacts, test_code: bool) -> Finding | None:
        if call.form is CallForm.BASE_INIT:
            return self._base_init(facts, call, test_code)
        matches = [m for m in (self.linker.match(t) for t in call.targets) if m is not None]
        if not matches and call.form is CallForm.CALL:
            targets = call.targets or self._receiver_targets(facts, call)
            method = self.linker.method_match(call.callee_text, targets)
            matches = [method] if method is not None else []
        if not matches:
            return None
        if call.form is CallForm.RUNTIME_CHOICE:
            match = next((m for m in matches if m.kind is TargetKind.CLASS), matches[0])
            return self._finding(
                facts,
                call,
                match,
                Kind.UNCERTAIN,
                test_code,
                _manual(ManualReason.UNCERTAIN),
                "the class is chosen at run time",
            )
        match = matches[0]
        if match.kind is TargetKind.MIGRATED:
            return self._finding(
                facts, call, match, Kind.MIGRATED, test_code, None, "request-scoped factory"
            )
        if match.kind is TargetKind.LEGACY:
            return self._legacy(facts, call, match, test_code)
        assert match.member is not None
        return self._construction(facts, call, match, match.member, test_code)

    def _receiver_targets(self, facts: FileFacts, call: CallFacts) -> tuple[str, ...]:
        """`Class.method` for `name.method(...)` when the function binds `name` to `Class(...)`
        or annotates it with `Class`: the receiver's class is then known."""
        receiver, _, method = call.callee_text.rpartition(".")
        if not receiver.isidentifier() or call.function < 0:
            return ()
        function = facts.functions[call.function]
        for param in (*function.params, *function.annotated_locals):
            if param.name == receiver and param.annotation:
                return tuple(f"{owner}.{method}" for owner in param.annotation)
        value = dict(function.assigned).get(receiver, "").strip()
        head = value.split("(", 1)[0]
        if value.endswith(")") and all(part.isidentifier() for part in head.split(".")):
            owner = self.linker.canonical(f"{facts.module}.{head}")[0]
            return (f"{owner}.{method}",)
        return ()

    def _base_init(self, facts: FileFacts, call: CallFacts, test_code: bool) -> Finding | None:
        class_qualname = f"{facts.module}.{call.scope.class_name}"
        member = self.linker.family.get(class_qualname)
        if member is None:
            return None
        for target in call.targets:
            match = self.linker.match(target)
            # A class the pack lists on its own (AdminToolDispatcher) still calls a
            # family base: that call is checked like a subclass's.
            if match is None or match.member is None or match.member is member:
                continue
            verdict = base_call_context(call, match.member)
            if verdict == "present":
                return None
            if verdict == "forwarded":
                return self._finding(
                    facts,
                    call,
                    match,
                    Kind.UNCERTAIN,
                    test_code,
                    _manual(ManualReason.KWARGS_FORWARDING),
                    "the base __init__ gets forwarded **kwargs",
                )
            return self._finding(
                facts,
                call,
                match,
                Kind.SUPER_INIT_NONE,
                test_code,
                _manual(ManualReason.SUPER_INIT),
                f"{call.scope.class_name} calls its base without a user context",
            )
        return None

    def _legacy(self, facts: FileFacts, call: CallFacts, match: Match, test_code: bool) -> Finding:
        legacy = match.legacy
        assert legacy is not None
        rule = self.linker.rules.packs[0].class_rule(legacy.creates)
        for pack in self.linker.rules.packs:
            rule = pack.class_rule(legacy.creates) or rule
        assert rule is not None
        plan = self._plan(
            facts,
            call,
            rule,
            rule.factory,
            legacy.signature,
            legacy.arguments,
            None,
            is_subclass=False,
            test_code=test_code,
        )
        finding = self._finding(
            facts, call, match, Kind.LEGACY_FACTORY, test_code, plan, "legacy global factory"
        )
        if legacy.qualified_name in self.linker.derived:
            # A derived factory: the rewrite maps the arguments through its own signature.
            finding = replace(
                finding,
                signature=legacy.signature,
                detail=f"{legacy.qualified_name.rsplit('.', 1)[-1]} returns a dispatcher shared by every user",
            )
        return finding

    def _construction(
        self, facts: FileFacts, call: CallFacts, match: Match, member: FamilyMember, test_code: bool
    ) -> Finding:
        rule = member.rule
        if call.form is CallForm.FACTORY_REF:
            return self._finding(
                facts,
                call,
                match,
                Kind.SINGLETON,
                test_code,
                _placement_plan(call) or _manual(ManualReason.INDIRECT_CONSTRUCTION),
                "the class is passed as a factory and called without a user context",
            )
        reading = self.read_context(facts, call, member)
        if reading.state == "mismatch":
            return self._finding(
                facts,
                call,
                match,
                Kind.UNCERTAIN,
                test_code,
                _manual(ManualReason.CONTEXT_MISMATCH, reading.sentence),
                reading.sentence,
            )
        if member.init_without_context:
            kind, why = (
                Kind.SINGLETON,
                f"{member.qualname.rsplit('.', 1)[-1]} always calls its base without a user context",
            )
        elif call.storage is not None:
            kind, why = Kind.SINGLETON, _storage_text(call.storage)
        elif reading.state == "present":
            kind, why = Kind.DIRECT_SCOPED, "constructed with a user context, bypassing the factory"
        elif reading.state == "forwarded" or member.forwards_kwargs:
            return self._finding(
                facts,
                call,
                match,
                Kind.UNCERTAIN,
                test_code,
                _manual(ManualReason.KWARGS_FORWARDING),
                "the user context may be in forwarded *args/**kwargs",
            )
        elif reading.state == "legacy":
            kind, why = Kind.SINGLETON, reading.sentence
        else:
            kind, why = Kind.SINGLETON, "constructed without a user context"
        if (
            member.signature_conflict
            and call.positional
            and call.form is CallForm.CALL
            and reading.signature is None
        ):
            plan = (
                _placement_plan(call)
                or self.internal_plan(facts, call, rule.factory)
                or _manual(
                    "uncertain",
                    "(the rule pack's signature and the class's own __init__ disagree; "
                    "pass the arguments by keyword)",
                )
            )
            return self._finding(facts, call, match, kind, test_code, plan, why)
        if call.form is CallForm.PARTIAL:
            plan = _placement_plan(call) or _manual(ManualReason.INDIRECT_CONSTRUCTION)
        else:
            plan = self._plan(
                facts,
                call,
                rule,
                rule.factory,
                reading.signature or member.signature,
                rule.arguments,
                member.context_parameter,
                is_subclass=member.is_subclass,
                test_code=test_code,
            )
        finding = self._finding(facts, call, match, kind, test_code, plan, why)
        if reading.signature is not None:
            finding = replace(finding, signature=reading.signature)
        return finding

    def read_context(
        self, facts: FileFacts, call: CallFacts, member: FamilyMember
    ) -> ContextReading:
        """What the call passes where the context goes, judged on evidence (docs/analysis.md)."""
        state = context_argument(call, member)
        if state != "present":
            return ContextReading(state)
        assert member.context_parameter is not None
        function = facts.functions[call.function] if call.function >= 0 else None
        keyword = dict(call.keywords).get(member.context_parameter)
        if keyword is not None:
            evidence = context_evidence(keyword.text, facts, function, self.linker)
            if evidence.verdict is Verdict.AGAINST:
                return ContextReading(
                    "mismatch",
                    _mismatch_sentence(f"{member.context_parameter}=", evidence, member, False),
                )
            return ContextReading("present")
        index = member.signature.index(member.context_parameter)
        value = call.positional[index]
        evidence = context_evidence(value.text, facts, function, self.linker)
        if evidence.verdict is Verdict.FOR:
            return ContextReading("present")
        if not member.is_subclass and not member.signature_conflict:
            for legacy in member.rule.legacy_signatures:
                # Read through an older signature only when the value is a literal or a
                # display (`[tool]`), or is named after the old parameter it fills (`tools`):
                # a session or a manager in the context's place is a mistake to look at.
                if _fits(legacy, member.signature, call, member.context_parameter) and (
                    evidence.display or _named_as(value.text, legacy[index])
                ):
                    return ContextReading(
                        "legacy",
                        f"written for the older signature ({', '.join(legacy)}): "
                        "constructed without a user context",
                        legacy,
                    )
        where = f"the {ordinal(index)} positional argument"
        return ContextReading(
            "mismatch",
            _mismatch_sentence(where, evidence, member, evidence.verdict is Verdict.NONE),
        )

    # ------------------------------------------------------------------ plans

    def _plan(
        self,
        facts: FileFacts,
        call: CallFacts,
        rule: ClassRule,
        factory: CallTarget | None,
        signature: tuple[str, ...],
        arguments: tuple[tuple[str, object], ...],
        context_parameter: str | None,
        *,
        is_subclass: bool,
        test_code: bool = False,
    ) -> FixPlan:
        placement = _placement_plan(call)
        if placement is not None:
            return placement
        internal = self.internal_plan(facts, call, factory)
        if internal is not None:
            return internal
        if is_subclass:
            return _manual(ManualReason.SUBCLASS)
        if factory is None:
            return _manual(ManualReason.NO_FACTORY)
        function = facts.functions[call.function] if call.function >= 0 else None
        if function is not None and not function.is_async and rule.sync_direct:
            direct = self._direct_plan(
                facts, call, rule, signature, context_parameter, function, test_code
            )
            if direct is not None:
                return direct
        # A factory that is not awaited (`await: false`) is a valid rewrite in a `def`.
        if function is None or (not function.is_async and factory.awaitable):
            plan = _manual(ManualReason.NOT_ASYNC)
            chain = self.async_chain(function.qualname) if function is not None else ()
            if chain:
                plan = FixPlan(
                    plan.action,
                    plan.reason,
                    f"{plan.message} Callers that would have to become async: {', '.join(chain)}"
                    f"{' (the search for callers stopped early: there may be more)' if self.chain_truncated else ''}.",
                    chain,
                )
            return plan
        context = self.context_in_scope(facts, function)
        testing = self.linker.rules.testing
        inject: str | None = None
        passed, _ = bind_call(signature, call.positional, call.keywords)
        carries_context = (
            context_parameter is not None
            and context_parameter in passed
            and not passed[context_parameter].is_none
        )
        # A call that passes its own context (direct-scoped) needs no injected fixture.
        if test_code and testing is not None and not carries_context:
            verdict = injection(self.linker, facts, function, testing.fixture, context)
            if verdict is not None and verdict.reason is not None:
                return _manual(verdict.reason)
            if verdict is not None:
                inject = context = verdict.fixture
        mapped = map_arguments(
            signature=signature,
            rules=arguments,  # type: ignore[arg-type]
            context_parameter=context_parameter,
            target=factory,
            positional=call.positional,
            keywords=call.keywords,
            is_none=lambda a: a.is_none,
            context=ArgFacts(context, False) if context is not None else None,
        )
        if mapped.problem is not None:
            if mapped.problem == "too-many-positional":
                return _manual(
                    ManualReason.UNCERTAIN, "(more positional arguments than the signature has)"
                )
            return _manual(mapped.problem)
        manager = rule.context_manager
        if (
            call.cm_eligible
            and manager is not None
            and (function.is_async or not manager.awaitable)
            and all(name in manager.parameters for name, _ in mapped.arguments)
        ):
            opening = "async with" if manager.awaitable else "with"
            return FixPlan(
                FixAction.CONTEXT_MANAGER,
                None,
                f"Wrap the uses of `{call.bound_name}` in "
                f"`{opening} {manager.attribute_path}(...) as {call.bound_name}:`{_given(inject)}.",
                inject=inject,
            )
        why = f" (it is {call.escape})" if call.escape else ""
        awaiting = "await " if factory.awaitable else ""
        return FixPlan(
            FixAction.FACTORY,
            None,
            f"Replace with `{awaiting}{factory.attribute_path}(...)`{why}{_given(inject)}.",
            inject=inject,
        )

    def internal_plan(
        self, facts: FileFacts, call: CallFacts, factory: CallTarget | None
    ) -> FixPlan | None:
        """`manual: factory-internal` for a site in a factory's own implementation."""
        detail = self.linker.internal_site(facts, call, factory)
        return _manual(ManualReason.FACTORY_INTERNAL, detail) if detail is not None else None

    def _direct_plan(
        self,
        facts: FileFacts,
        call: CallFacts,
        rule: ClassRule,
        signature: tuple[str, ...],
        context_parameter: str | None,
        function: FunctionFacts,
        test_code: bool,
    ) -> FixPlan | None:
        """`sync: direct` in a `def`: the class built with the context in scope (or injected)."""
        target = rule.direct_target
        if target is None or context_parameter is None:
            return None  # a legacy factory: its class would have to be imported; left as it was
        context = self.context_in_scope(facts, function)
        passed, _ = bind_call(signature, call.positional, call.keywords)
        own = passed.get(context_parameter)
        if own is not None and not own.is_none:
            # Already built with a context of its own: what `direct` asks for; no fixture.
            return FixPlan(
                FixAction.DIRECT,
                None,
                "Built directly with a user context, as the pack allows where nothing can await.",
            )
        testing = self.linker.rules.testing
        inject: str | None = None
        if test_code and testing is not None:
            verdict = injection(self.linker, facts, function, testing.fixture, context)
            if verdict is not None and verdict.reason is not None:
                return None
            if verdict is not None:
                inject = context = verdict.fixture
        if context is None:
            return None
        mapped = map_arguments(
            signature=signature,
            rules=(),
            context_parameter=context_parameter,
            target=target,
            positional=call.positional,
            keywords=call.keywords,
            is_none=lambda a: a.is_none,
            context=ArgFacts(context, False),
        )
        if mapped.problem is not None:
            return None
        name = target.import_name
        return FixPlan(
            FixAction.DIRECT,
            None,
            f"Nothing can await here: build `{name}` directly with the user context "
            f"(`{name}({context_parameter}={context}, ...)`, as the pack allows){_given(inject)}.",
            inject=inject,
        )

    def context_in_scope(self, facts: FileFacts, function: FunctionFacts) -> str | None:
        """The user-context expression visible in `function` (DESIGN.md, "The domain")."""
        names = set(self.linker.rules.context_names)
        for group in (function.params, function.annotated_locals):
            for param in group:
                if param.annotation and self.linker.is_context_type(param.annotation):
                    return param.name
        for group in (function.params, function.annotated_locals):
            for param in group:
                if (
                    param.name in names
                    and (not param.annotated or self.linker.is_context_type(param.annotation))
                    # A name the pack lists, bound to a list or parametrized with
                    # literals, is not a context: no rewrite passes it as one.
                    and context_evidence(param.name, facts, function, self.linker).verdict
                    is not Verdict.AGAINST
                ):
                    return param.name
        if function.class_qualname and function.params:
            cls = self.linker.classes.get(function.class_qualname)
            if cls is not None:
                for attribute in self.linker.rules.context_attributes:
                    if attribute in cls[0].self_attributes:
                        return f"{function.params[0].name}.{attribute}"
        return None

    def async_chain(self, qualname: str) -> tuple[str, ...]:
        """Sync callers in the scanned tree that would have to become async, nearest first."""
        if self._callers is None:
            callers: dict[str, list[tuple[str, bool]]] = defaultdict(list)
            for facts in self.linker.files.values():
                for function in facts.functions:
                    for callee in function.calls:
                        final, _ = self.linker.canonical(callee)
                        callers[final].append((function.qualname, function.is_async))
            self._callers = callers
        chain: list[str] = []
        frontier = [qualname]
        seen = {qualname}
        for _ in range(self.async_chain_depth):
            following: list[str] = []
            for name in frontier:
                # Constructing a class is how its __init__ gets called.
                keys = (
                    [name, name.removesuffix(".__init__")] if name.endswith(".__init__") else [name]
                )
                for caller, is_async in [c for key in keys for c in self._callers.get(key, [])]:
                    if caller in seen or is_async:
                        continue
                    seen.add(caller)
                    chain.append(caller)
                    following.append(caller)
            if not following:
                break
            frontier = following
        return tuple(chain)

    # ------------------------------------------------------------------ assembly

    def _words(self, qualified: str, rule_id: str) -> dict[str, str]:
        """`{object}`: the pack's class (the one a legacy factory creates); `{context}`: its context type."""
        words = dict(_GENERIC_WORDS)
        words[_OBJECT] = f"`{qualified.rsplit('.', 1)[-1]}`"
        packs = self.linker.rules.packs
        for pack in packs:
            created = next((x.creates for x in pack.legacy_factories if x.id == rule_id), None)
            rule = pack.class_rule(rule_id) if created is None else None
            if created is not None:
                rule = next((r for p in packs if (r := p.class_rule(created)) is not None), None)
            if rule is None and created is None:
                continue
            if rule is not None:
                words[_OBJECT] = f"`{rule.qualified_name.rsplit('.', 1)[-1]}`"
            if pack.context.types:
                words[_CONTEXT] = pack.context.types[0].rsplit(".", 1)[-1]
            break
        return words

    def _finding(
        self,
        facts: FileFacts,
        call: CallFacts,
        match: Match,
        kind: Kind,
        test_code: bool,
        plan: FixPlan | None,
        detail: str,
    ) -> Finding:
        rule_id = (
            match.legacy.id
            if match.legacy is not None
            else match.member.rule.id
            if match.member is not None
            else match.migrated_rule.id
            if match.migrated_rule is not None
            else "migrated"
        )
        function = facts.functions[call.function] if call.function >= 0 else None
        if kind is Kind.DIRECT_SCOPED or kind is Kind.SUPER_INIT_NONE:
            context = self._passed_context(call, match)
        elif plan is not None and plan.inject is not None:
            context = plan.inject
        else:
            context = self.context_in_scope(facts, function) if function is not None else None
        qualified = match.member.qualname if match.member is not None else match.qualified_name
        plan = _in_the_packs_words(plan, self._words(qualified, rule_id))
        return Finding(
            path=facts.relpath,
            span=call.span,
            rule=rule_id,
            kind=kind,
            callee=call.callee_text,
            qualified_name=qualified,
            scope=call.scope,
            context=context,
            fix=plan if kind is not Kind.MIGRATED else None,
            fingerprint="",
            test_code=test_code,
            escapes=call.escape is not None,
            via=match.via,
            detail=detail,
        )

    def _passed_context(self, call: CallFacts, match: Match) -> str | None:
        member = match.member
        if member is None or member.context_parameter is None:
            return None
        bound, _ = bind_call(member.signature, call.positional, call.keywords)
        value = bound.get(member.context_parameter)
        return value.text if value is not None and not value.is_none else None


@dataclass(frozen=True)
class ContextReading:
    """What a construction passes as the user context.

    `state`: `present` (on evidence, or by keyword without evidence against),
    `missing`, `forwarded` (maybe in *args/**kwargs), `mismatch` (a value that is
    not evidently a context lands on the parameter) or `legacy` (the call fits
    one of the pack's older signatures, which has no context).
    """

    state: str
    sentence: str = ""
    #: The older signature the call was read through (`legacy`).
    signature: tuple[str, ...] | None = None


def _fits(
    signature: tuple[str, ...], current: tuple[str, ...], call: CallFacts, context_parameter: str
) -> bool:
    """Whether a call's arguments fit an older signature that has no context parameter.

    Keywords may name a parameter of either signature (old code passes both kinds).
    """
    if context_parameter in signature or call.star_args or call.star_kwargs:
        return False
    if len(call.positional) > len(signature):
        return False
    taken = set(signature[: len(call.positional)])
    return all(
        (name in signature or name in current) and name not in taken and name != context_parameter
        for name, _ in call.keywords
    )


def _named_as(text: str, parameter: str) -> bool:
    """`tools`, `self.tools`, `self._tools`: a value named after the parameter it fills."""
    last = text.strip().rsplit(".", 1)[-1].lstrip("_")
    return last == parameter and all(part.isidentifier() for part in text.strip().split("."))


def _mismatch_sentence(where: str, evidence: Evidence, member: FamilyMember, unknown: bool) -> str:
    parameter = member.context_parameter
    if unknown:
        return (
            f"{where}, {evidence.what}, lands on {parameter}: nothing shows it is a user context, "
            "so the call may have been written for another signature"
        )
    return (
        f"{where}, {evidence.what}, lands on {parameter}: "
        "this call was written for another signature"
    )


def context_argument(call: CallFacts, member: FamilyMember) -> str:
    """Whether a construction passes the user context: `present`, `missing` or `forwarded`."""
    if member.context_parameter is None:
        return "missing"
    bound, _ = bind_call(member.signature, call.positional, call.keywords)
    value = bound.get(member.context_parameter)
    if value is not None:
        return "missing" if value.is_none else "present"
    if call.star_kwargs or call.star_args:
        return "forwarded"
    return "missing"


def _given(fixture: str | None) -> str:
    """The end of a test site's plan message: where its context comes from."""
    return f", the test taking the `{fixture}` fixture as a parameter" if fixture else ""


def _placement_plan(call: CallFacts) -> FixPlan | None:
    """Manual plans that follow from where the site is, whatever it constructs."""
    if call.scope.level is ScopeLevel.CLASS:
        return _manual(ManualReason.CLASS_BODY)
    if call.scope.level is ScopeLevel.MODULE:
        return _manual(ManualReason.MODULE_LEVEL)
    if call.storage is not None:
        return _manual(ManualReason.SHARED_INSTANCE, f"({_storage_text(call.storage)})")
    return None


def _storage_text(storage: Storage) -> str:
    return {
        Storage.MODULE_LEVEL: "created at module level and shared by every user",
        Storage.CLASS_BODY: "a class attribute shared by every instance",
        Storage.GLOBAL: "stored in a module global",
        Storage.CLASS_ATTRIBUTE: "stored on a class attribute",
        Storage.CACHED_GETTER: "returned by a cached getter",
    }[storage]


def _fingerprint(path: str, rule: str, call: CallFacts, occurrence: int) -> str:
    # Anchored on the code of the call itself and its function, never on line numbers,
    # so inserting lines or reformatting other code keeps the fingerprint.
    # The class is part of the anchor: identical calls in two class bodies (where
    # there is no function) stay apart when one class is deleted or moved.
    where = call.scope.function or call.scope.class_name or "<module>"
    raw = f"{path}\0{rule}\0{where}\0{formatted_away(call.normalized)}\0{occurrence}"
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()[:24]


#: A comma just before a closing bracket: what a formatter's "magic trailing comma" adds.
_TRAILING_COMMA = re.compile(r",(?=[)\]}])")


def formatted_away(normalized: str) -> str:
    """A call's whitespace-free text without what formatters change in it.

    Black and Ruff split a long call over lines (whitespace is already gone) and
    then add a trailing comma, wrap a long call in parentheses (`return (f(...))`),
    and turn single quotes into double quotes.
    """
    text = _TRAILING_COMMA.sub("", normalized).replace("'", '"')
    while text.startswith("(") and _closes_at_end(text):
        text = text[1:-1]
    return text


def _closes_at_end(text: str) -> bool:
    """Whether the bracket that opens `text` is closed by its last character."""
    depth = 0
    for index, char in enumerate(text):
        if char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
            if depth == 0:
                return index == len(text) - 1
    return False


def _with_fingerprint(finding: Finding, fingerprint: str) -> Finding:
    return replace(finding, fingerprint=fingerprint)
