"""Map a constructor call's arguments onto a factory's parameters, as a rule says.

Pure and generic over the argument payload, so the analysis (which holds
`ArgFacts`) and the codemods (which hold `libcst.Arg` nodes) share one
implementation and cannot disagree about what a rewrite does.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from migrator.rules import ArgumentAction, ArgumentRule, CallTarget

P = TypeVar("P")


@dataclass(frozen=True)
class Mapped(Generic[P]):
    """The factory call's keyword arguments (in order), or the reason it cannot be built."""

    arguments: tuple[tuple[str, P], ...]
    #: `unmapped-argument:<name>`, `missing-argument:<name>` or `too-many-positional`; None when fine.
    problem: str | None
    #: The context expression came from the call itself (a direct-scoped site).
    context_from_call: P | None


def bind_call(
    signature: Sequence[str],
    positional: Sequence[P],
    keywords: Sequence[tuple[str, P]],
) -> tuple[dict[str, P], str | None]:
    """Bind positional and keyword arguments to parameter names through `signature`."""
    bound: dict[str, P] = {}
    if len(positional) > len(signature):
        return bound, "too-many-positional"
    # Shorter positional lists are normal: the rest of the parameters were not passed.
    for name, value in zip(signature, positional, strict=False):
        bound[name] = value
    for name, value in keywords:
        bound[name] = value
    return bound, None


def map_arguments(
    *,
    signature: Sequence[str],
    rules: Sequence[tuple[str, ArgumentRule]],
    context_parameter: str | None,
    target: CallTarget,
    positional: Sequence[P],
    keywords: Sequence[tuple[str, P]],
    is_none: Callable[[P], bool],
    context: P | None,
    extra_required: Sequence[str] = (),
) -> Mapped[P]:
    """Build the factory's arguments: the context first, then each argument per its rule.

    Arguments that are `None` (or absent) are dropped: the factories default them.
    """
    bound, problem = bind_call(signature, positional, keywords)
    if problem is not None:
        return Mapped((), problem, None)
    rule_of = dict(rules)
    context_name = target.parameters[0] if target.parameters else "user_context"
    if context_parameter and context_parameter in target.parameters:
        context_name = context_parameter
    context_from_call: P | None = None
    if context_parameter is not None and context_parameter in bound:
        value = bound.pop(context_parameter)
        if not is_none(value):
            context_from_call = value
    chosen_context = context_from_call if context_from_call is not None else context
    if chosen_context is None and context_name in target.required:
        # Checked before the other arguments: without a context nothing else matters.
        return Mapped((), "no-context-in-scope", None)
    arguments: list[tuple[str, P]] = []
    if chosen_context is not None:
        arguments.append((context_name, chosen_context))
    for name, value in bound.items():
        rule = rule_of.get(name)
        if rule is None:
            rule = (
                ArgumentRule(ArgumentAction.KEEP, name)
                if name in target.parameters
                else ArgumentRule(ArgumentAction.MANUAL)
            )
        if rule.action is ArgumentAction.DROP or is_none(value):
            continue
        if rule.action is ArgumentAction.MANUAL:
            return Mapped((), f"unmapped-argument:{name}", context_from_call)
        destination = rule.target or name
        if destination not in target.parameters:
            return Mapped((), f"unmapped-argument:{name}", context_from_call)
        arguments.append((destination, value))
    present = {name for name, _ in arguments}
    for name in (*target.required, *extra_required):
        if name not in present:
            if name == context_name:
                return Mapped((), "no-context-in-scope", context_from_call)
            return Mapped((), f"missing-argument:{name}", context_from_call)
    return Mapped(tuple(arguments), None, context_from_call)
