"""Link the facts of all files: aliases across modules and the family of dispatcher classes.

`ToolDispatcher = UnifiedToolDispatcher` in one module, `from .x import ToolDispatcher`
in a package `__init__`, `import m as mod` elsewhere: every module-level binding
becomes an edge in a symbol table, and a qualified name is followed along the
edges (and along its prefixes, for `pkg.mod.Name` where `pkg.mod` is itself a
re-export) until it stops moving. Subclasses found in the tree join the family
of the rule class they derive from.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from migrator.facts import CallFacts, CallForm, ClassFacts, FileFacts, FunctionFacts
from migrator.mapping import bind_call
from migrator.model import AliasNote
from migrator.rules import CallTarget, ClassRule, LegacyFactoryRule, RuleSet

_MAX_STEPS = 64


class TargetKind(str, enum.Enum):
    CLASS = "class"
    LEGACY = "legacy"
    MIGRATED = "migrated"


@dataclass(frozen=True)
class FamilyMember:
    """A dispatcher class: a rule's class or a subclass found in the scanned tree."""

    qualname: str
    rule: ClassRule
    signature: tuple[str, ...]
    context_parameter: str | None
    is_subclass: bool
    #: The class's `__init__` calls its base without a user context.
    init_without_context: bool
    #: The class's `__init__` forwards `**kwargs` to its base without naming the context.
    forwards_kwargs: bool
    #: The pack's signature and the class's own `__init__` in the tree disagree.
    signature_conflict: bool = False
    path: str | None = None
    line: int = 0


@dataclass(frozen=True)
class Match:
    kind: TargetKind
    qualified_name: str
    via: tuple[str, ...]
    member: FamilyMember | None = None
    legacy: LegacyFactoryRule | None = None
    migrated_rule: ClassRule | None = None


class Linker:
    def __init__(self, rules: RuleSet, files: Iterable[FileFacts]) -> None:
        self.rules = rules
        # Sorted by path: the first binding of a name wins below, and it must not
        # depend on the order in which workers happened to finish.
        self.files = {facts.relpath: facts for facts in sorted(files, key=lambda f: f.relpath)}
        self.symbols: dict[str, str] = {}
        self.binding_origin: dict[str, tuple[str, int, str]] = {}
        for facts in self.files.values():
            for binding in facts.bindings:
                if binding.name != binding.target:
                    self.symbols.setdefault(binding.name, binding.target)
                    self.binding_origin.setdefault(
                        binding.name, (facts.relpath, binding.line, binding.how)
                    )
        # A pack name that is a re-export and the definition it points to are one
        # callable, whichever the pack names: both are registered.
        self.class_rules: dict[str, ClassRule] = {}
        for rule in rules.classes:
            for name in self._both_ways(rule.names):
                self.class_rules.setdefault(name, rule)
        self.legacy_rules: dict[str, LegacyFactoryRule] = {}
        for legacy in rules.legacy_factories:
            for name in self._both_ways(legacy.names):
                self.legacy_rules.setdefault(name, legacy)
        self.migrated: dict[str, ClassRule | None] = {
            name: None for name in self._both_ways(rules.migrated_targets())
        }
        for rule in rules.classes:
            for target in (rule.factory, rule.context_manager):
                if target is not None:
                    for name in self._both_ways((target.qualified_name,)):
                        self.migrated[name] = rule
        self.classes: dict[str, tuple[ClassFacts, FileFacts]] = {
            cls.qualname: (cls, facts) for facts in self.files.values() for cls in facts.classes
        }
        self.family: dict[str, FamilyMember] = {}
        self.warnings: list[str] = []
        self._internal: frozenset[str] | None = None
        for rule in rules.classes:
            signature, conflict = self._signature(rule)
            member = FamilyMember(
                qualname=rule.qualified_name,
                rule=rule,
                signature=signature,
                context_parameter=rule.context_parameter,
                is_subclass=False,
                init_without_context=rule.base_init_without_context,
                forwards_kwargs=False,
                signature_conflict=conflict,
            )
            for name in self._both_ways(rule.names):
                self.family.setdefault(name, member)
        self._grow_family()
        #: Derived factories: qualified name to what they return ("legacy" or "migrated").
        self.derived: dict[str, str] = {}
        self._derive_factories()

    def _signature(self, rule: ClassRule) -> tuple[tuple[str, ...], bool]:
        """The class's own `__init__` signature when it is defined in the tree, else the pack's.

        When both exist and differ, positional arguments cannot be mapped with
        certainty: the disagreement is reported and such calls are left manual.
        """
        found = self.classes.get(rule.qualified_name) or self.classes.get(
            self.definition(rule.qualified_name)
        )
        if found is None or found[0].init_params is None:
            return rule.signature, False
        cls, facts = found
        own = cls.init_params
        assert own is not None
        if own == rule.signature:
            return own, False
        self.warnings.append(
            f"{facts.relpath}:{cls.line}: {cls.name}.__init__ takes ({', '.join(own)}) but rule "
            f"{rule.id!r} says ({', '.join(rule.signature)}); positional arguments are mapped "
            "through the class's own __init__, and calls that pass them are left manual"
        )
        return own, True

    # ------------------------------------------------------------------ names

    def canonical(self, name: str) -> tuple[str, tuple[str, ...]]:
        """Follow aliases from `name`; returns the final name and the chain walked."""
        chain = [name]
        current = name
        for _ in range(_MAX_STEPS):
            if (
                current in self.class_rules
                or current in self.legacy_rules
                or current in self.migrated
            ):
                break
            if current in self.family:
                break
            nxt = self._step(current)
            if nxt is None or nxt in chain:
                break
            chain.append(nxt)
            current = nxt
        return current, tuple(chain)

    def _step(self, current: str) -> str | None:
        """One step along the alias table: the name's own binding, else its longest
        prefix's (`pkg.mod.Name` where `pkg.mod` is itself a re-export)."""
        nxt = self.symbols.get(current)
        if nxt is not None:
            return nxt
        parts = current.split(".")
        for cut in range(len(parts) - 1, 0, -1):
            prefix = ".".join(parts[:cut])
            if prefix in self.symbols:
                return self.symbols[prefix] + "." + ".".join(parts[cut:])
        return None

    def _both_ways(self, names: Iterable[str]) -> list[str]:
        """Each name, then where it is defined in the tree when that is elsewhere."""
        found = list(names)
        found.extend(self.definition(name) for name in list(found))
        return list(dict.fromkeys(found))

    def definition(self, name: str) -> str:
        """Where `name` is finally defined: aliases followed past the pack's own names.

        `canonical` stops at a name the pack lists, so that a listed re-export matches;
        this goes on to the definition, so that a re-export and what it points to are
        known as one callable.
        """
        chain = [name]
        current = name
        for _ in range(_MAX_STEPS):
            nxt = self._step(current)
            if nxt is None or nxt in chain:
                break
            chain.append(nxt)
            current = nxt
        return current

    def match(self, name: str) -> Match | None:
        found = self._match(name)
        if found is not None:
            return found
        # `Sub.method` where the method is defined on a base class (`self.factory_method`
        # in a subclass of the factory).
        owner, _, method = name.rpartition(".")
        if owner and method:
            for base in self._bases(self.definition(owner)):
                found = self._match(f"{base}.{method}")
                if found is not None:
                    return Match(
                        found.kind,
                        found.qualified_name,
                        (name, *found.via),
                        found.member,
                        found.legacy,
                        found.migrated_rule,
                    )
        return None

    def _bases(self, qualname: str) -> list[str]:
        """Base classes of a tree class, nearest first (through the tree only)."""
        out: list[str] = []
        frontier = [qualname]
        for _ in range(8):
            following: list[str] = []
            for name in frontier:
                found = self.classes.get(name)
                if found is None:
                    continue
                for base in found[0].bases:
                    final = self.definition(base)
                    if final not in out:
                        out.append(final)
                        following.append(final)
            if not following:
                break
            frontier = following
        return out

    def method_match(self, callee_text: str, targets: Sequence[str]) -> Match | None:
        """A pack's `factory_methods` entry called on an object: matched on the method's
        name, and on the receiver's class when it is known (a resolved target)."""
        if "." not in callee_text:
            return None
        method = callee_text.rsplit(".", 1)[-1]
        for rule in self.rules.factory_methods:
            if rule.method != method:
                continue
            owner = self.definition(rule.owner)
            # A receiver's class is known when it is a class: `self` in a method, or
            # `Class()` (a tree class, or a CamelCase name such as MagicMock).
            known = [
                owner
                for owner in (t.rsplit(".", 1)[0] for t in targets if t.endswith("." + method))
                if self.definition(owner) in self.classes or owner.rsplit(".", 1)[-1][:1].isupper()
            ]
            if known and not any(
                self.definition(cls) == owner
                or owner in self._bases(self.definition(cls))
                or cls == rule.owner
                for cls in known
            ):
                continue
            via = (callee_text, rule.qualified_name)
            created = self._class_rule(rule.creates) if rule.creates else None
            if rule.kind == "migrated":
                return Match(TargetKind.MIGRATED, rule.qualified_name, via, migrated_rule=created)
            legacy = LegacyFactoryRule(
                id=rule.id,
                qualified_name=rule.qualified_name,
                aliases=(),
                creates=rule.creates or "",
                signature=(),
                arguments=(),
                description=rule.description,
            )
            return Match(TargetKind.LEGACY, rule.qualified_name, via, legacy=legacy)
        return None

    def _match(self, name: str) -> Match | None:
        final, chain = self.canonical(name)
        if final in self.family:
            return Match(
                TargetKind.CLASS,
                self.family[final].rule.qualified_name,
                chain,
                member=self.family[final],
            )
        if final in self.legacy_rules:
            rule = self.legacy_rules[final]
            return Match(TargetKind.LEGACY, rule.qualified_name, chain, legacy=rule)
        if final in self.migrated:
            return Match(TargetKind.MIGRATED, final, chain, migrated_rule=self.migrated[final])
        return None

    def internal_site(
        self, facts: FileFacts, call: CallFacts, factory: CallTarget | None
    ) -> str | None:
        """Why a site is part of a factory's own implementation, or None.

        A rewrite inside a factory (or a function it calls) would turn it into a call
        of itself, and a rewrite in the module that defines the factory would import
        that module into itself.
        """
        if call.function >= 0:
            qualname = facts.functions[call.function].qualname
            for inner in self.internal_functions():
                if qualname == inner or qualname.startswith(inner + "."):
                    short = ".".join(inner.split(".")[-2:])
                    return f"(it is inside {short}, a factory or a function a factory calls)"
        if factory is not None:
            home = self.definition(f"{factory.module}.{factory.import_name}")
            if factory.module == facts.module or home.startswith(facts.module + "."):
                return (
                    f"(the rewrite would import {factory.import_name} from {facts.module} "
                    "into itself)"
                )
        return None

    def internal_functions(self) -> frozenset[str]:
        """Functions of the tree that are rewrite targets, and what they call (3 levels)."""
        if self._internal is not None:
            return self._internal
        functions = {
            function.qualname: function
            for facts in self.files.values()
            for function in facts.functions
        }
        targets = [
            target.qualified_name
            for rule in self.rules.classes
            for target in (rule.factory, rule.context_manager)
            if target is not None
        ] + list(self.rules.migrated_targets())
        # A legacy factory's body is its own implementation too: its callers are the sites.
        targets += [name for legacy in self.rules.legacy_factories for name in legacy.names]
        targets += list(self.derived)
        targets += [rule.qualified_name for rule in self.rules.factory_methods]
        frontier = {self.definition(name) for name in targets} & functions.keys()
        internal = set(frontier)
        for _ in range(3):
            following: set[str] = set()
            for name in frontier:
                for callee in functions[name].calls:
                    defined = self.definition(callee)
                    if defined in functions and defined not in internal:
                        following.add(defined)
            internal |= following
            frontier = following
        self._internal = frozenset(internal)
        return self._internal

    def is_context_type(self, names: Iterable[str]) -> bool:
        types = set(self.rules.context_types)
        return any(self.canonical(name)[0] in types or name in types for name in names)

    # ------------------------------------------------------------------ family

    def _grow_family(self) -> None:
        changed = True
        while changed:
            changed = False
            for qualname, (cls, facts) in self.classes.items():
                if qualname in self.family:
                    continue
                for base in cls.bases:
                    final, _ = self.canonical(base)
                    parent = self.family.get(final)
                    if parent is None:
                        continue
                    self.family[qualname] = self._subclass(cls, facts, parent, base)
                    changed = True
                    break

    def _subclass(
        self, cls: ClassFacts, facts: FileFacts, parent: FamilyMember, base: str
    ) -> FamilyMember:
        signature = cls.init_params if cls.init_params is not None else parent.signature
        context_parameter = parent.context_parameter
        if cls.init_params is not None:
            names = set(self.rules.context_names)
            if parent.context_parameter:
                names.add(parent.context_parameter)
            context_parameter = next((p for p in cls.init_params if p in names), None)
        init_without = parent.init_without_context
        forwards = parent.forwards_kwargs and cls.init_params is None
        for call in base_init_calls(facts, cls):
            verdict = base_call_context(call, parent)
            if verdict == "missing":
                init_without = True
            elif verdict == "forwarded":
                forwards = True
        return FamilyMember(
            qualname=cls.qualname,
            rule=parent.rule,
            signature=signature,
            context_parameter=context_parameter,
            is_subclass=True,
            init_without_context=init_without,
            forwards_kwargs=forwards,
            path=facts.relpath,
            line=cls.line,
        )

    def _derive_factories(self) -> None:
        """Functions of the family's own modules that only hand out a dispatcher join it.

        A function or method defined in a module that defines a family class or a
        pack factory, whose every `return` (or `yield`) is a family construction or a
        factory call, is a factory itself: legacy when what it returns is global,
        modern (`migrated`) when it forwards a context. Helpers in client modules do
        not join: their inner construction is the site. Repeated until nothing joins,
        so a helper returning a derived factory's call joins too.
        """
        homes = self._home_modules()
        for _ in range(4):
            joined = False
            for facts in self.files.values():
                if facts.module not in homes:
                    continue
                for index, function in enumerate(facts.functions):
                    if function.qualname in self.derived or self.match(function.qualname):
                        continue
                    verdict = self._returns_verdict(facts, index)
                    if verdict is None:
                        continue
                    kind, rule = verdict
                    self.derived[function.qualname] = kind
                    joined = True
                    if kind == "migrated":
                        self.migrated[function.qualname] = rule
                        continue
                    params = tuple(p.name for p in function.params)
                    if function.class_qualname is not None and params[:1] in (("self",), ("cls",)):
                        params = params[1:]
                    self.legacy_rules[function.qualname] = LegacyFactoryRule(
                        id=rule.id,
                        qualified_name=function.qualname,
                        aliases=(),
                        creates=rule.id,
                        signature=params,
                        arguments=tuple((n, a) for n, a in rule.arguments if n in params),
                        description=f"{function.name} only returns a dispatcher shared by every user",
                    )
            if not joined:
                break

    def _home_modules(self) -> set[str]:
        """Modules that define a family class or a pack factory (in the scanned tree)."""
        homes: set[str] = set()
        for qualname in self.family:
            found = self.classes.get(self.definition(qualname))
            if found is not None:
                homes.add(found[1].module)
        targets = [name for legacy in self.rules.legacy_factories for name in legacy.names]
        targets += list(self.rules.migrated_targets())
        defined = {self.definition(name) for name in targets}
        for facts in self.files.values():
            if any(function.qualname in defined for function in facts.functions):
                homes.add(facts.module)
        return homes

    def _returns_verdict(self, facts: FileFacts, index: int) -> tuple[str, ClassRule] | None:
        """("legacy" | "migrated", the class rule) when every return hands out a dispatcher."""
        function = facts.functions[index]
        if not function.returns:
            return None
        calls = [c for c in facts.calls if c.function == index]
        kinds: set[str] = set()
        rules: set[str] = set()
        rule_of: dict[str, ClassRule] = {}
        for text in function.returns:
            call = _returned_call(text, calls)
            if call is None:
                return None
            verdict = self._call_verdict(call)
            if verdict is None:
                return None
            kind, rule = verdict
            kinds.add(kind)
            rules.add(rule.id)
            rule_of[rule.id] = rule
        if len(kinds) != 1 or len(rules) != 1:
            return None
        kind = kinds.pop()
        if kind == "legacy" and not all(
            self._forwards_only(_returned_call(text, calls), function) for text in function.returns
        ):
            # Its calls would be rewritten onto the factory: only when the helper adds
            # nothing of its own (every argument is one of its parameters, or None).
            return None
        return kind, rule_of[rules.pop()]

    def _call_verdict(self, call: CallFacts) -> tuple[str, ClassRule] | None:
        if call.form is not CallForm.CALL:
            return None
        for target in call.targets:
            match = self.match(target)
            if match is None:
                continue
            if match.kind is TargetKind.MIGRATED:
                rule = match.migrated_rule or self._rule_for_migrated(match.qualified_name)
                return ("migrated", rule) if rule is not None else None
            if match.kind is TargetKind.LEGACY and match.legacy is not None:
                created = self._class_rule(match.legacy.creates)
                return ("legacy", created) if created is not None else None
            if match.member is not None:
                member = match.member
                if member.is_subclass:
                    # The factory makes the base class: a helper that builds a subclass
                    # is not one of its spellings (its construction is the site).
                    return None
                if member.init_without_context or member.context_parameter is None:
                    return "legacy", member.rule
                bound, _ = bind_call(member.signature, call.positional, call.keywords)
                value = bound.get(member.context_parameter)
                if value is None:
                    return None if call.star_args or call.star_kwargs else ("legacy", member.rule)
                return ("legacy" if value.is_none else "migrated"), member.rule
        return None

    def _forwards_only(self, call: CallFacts | None, function: FunctionFacts) -> bool:
        """Every argument of `call` is the function's parameter of the same name, passed
        on as it is (or None): calling the function is calling `call` with them."""
        if call is None or call.star_args or call.star_kwargs:
            return False
        params = {p.name for p in function.params}
        signature: tuple[str, ...] = ()
        for target in call.targets:
            match = self.match(target)
            if match is not None and match.legacy is not None:
                signature = match.legacy.signature
            elif match is not None and match.member is not None:
                signature = match.member.signature
        if len(call.positional) > len(signature):
            return False
        named = [*zip(signature, call.positional, strict=False), *call.keywords]
        return all(
            value.is_none or (value.text.strip() == name and name in params)
            for name, value in named
        )

    def _class_rule(self, rule_id: str) -> ClassRule | None:
        return next((rule for rule in self.rules.classes if rule.id == rule_id), None)

    def _rule_for_migrated(self, name: str) -> ClassRule | None:
        rules = {rule.id: rule for rule in self.migrated.values() if rule is not None}
        return next(iter(rules.values())) if len(rules) == 1 else None

    # ------------------------------------------------------------------ output

    def discovered_names(self) -> frozenset[str]:
        """Last segments of tree names that resolve to a rule target: new prefilter words."""
        names: set[str] = set()
        for name in self.symbols:
            if self.match(name) is not None:
                names.add(name.rsplit(".", 1)[-1])
        for qualname, member in self.family.items():
            if member.is_subclass:
                names.add(qualname.rsplit(".", 1)[-1])
        names.update(qualname.rsplit(".", 1)[-1] for qualname in self.derived)
        return frozenset(names)

    def alias_notes(self) -> tuple[AliasNote, ...]:
        """Aliases defined in the tree (assignments, renamed imports, package re-exports)."""
        notes: list[AliasNote] = []
        for name, target in sorted(self.symbols.items()):
            origin = self.binding_origin.get(name)
            if origin is None:
                continue
            path, line, how = origin
            match = self.match(name)
            if match is None:
                continue
            reexport = path.endswith("__init__.py")
            renamed = name.rsplit(".", 1)[-1] != target.rsplit(".", 1)[-1]
            if how == "assign" or renamed or reexport:
                notes.append(AliasNote(name, match.qualified_name, path, line))
        for member in self.family.values():
            if member.is_subclass and member.path is not None:
                notes.append(
                    AliasNote(member.qualname, member.rule.qualified_name, member.path, member.line)
                )
        return tuple(notes)


def _returned_call(text: str, calls: Sequence[CallFacts]) -> CallFacts | None:
    """The recorded call a `return` hands out: the call itself, or the one bound to the name."""
    value = text.strip()
    if value.startswith("await "):
        value = value[len("await ") :].strip()
    if value.startswith("(") and value.endswith(")"):
        value = value[1:-1].strip()
    if value.isidentifier():
        bound = [c for c in calls if c.bound_name == value]
        return bound[0] if len(bound) == 1 else None
    normalized = "".join(value.split())
    for call in calls:
        if call.normalized == normalized:
            return call
    return None


def base_init_calls(facts: FileFacts, cls: ClassFacts) -> list[CallFacts]:
    class_name = cls.qualname.removeprefix(facts.module + ".")
    return [
        call
        for call in facts.calls
        if call.form is CallForm.BASE_INIT
        and call.scope.class_name == class_name
        and call.scope.function == f"{class_name}.__init__"
    ]


def base_call_context(call: CallFacts, base: FamilyMember) -> str:
    """`present`, `missing` (absent or None) or `forwarded` (hidden in *args/**kwargs)."""
    if base.context_parameter is None:
        return "missing" if base.init_without_context else "present"
    bound, _ = bind_call(base.signature, call.positional, call.keywords)
    value = bound.get(base.context_parameter)
    if value is not None:
        return "missing" if value.is_none else "present"
    if call.star_kwargs or call.star_args:
        return "forwarded"
    return "missing"
