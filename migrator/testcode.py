"""Test code without a user context: may the pack's test-context fixture be injected? (issue 13)

A test that builds a dispatcher without a context can take the pack's pytest
fixture (`testing.fixture`, say `user_context`) as a parameter: pytest then gives
every test its own context, and the site gets the usual `context-manager` or
`factory` plan. That is only sound where pytest passes fixtures, so this module
decides, from the facts of the site's own file and the classes of the tree, where
it does and why not elsewhere:

- `unittest-method`: a method of a `unittest.TestCase` subclass (pytest gives
  those no fixtures);
- `fixture-scope`: a fixture wider than function scope (pytest refuses a
  function-scoped fixture in it);
- `not-a-test`: a function pytest does not collect (a helper, a nested function,
  a method of a class not named `Test...`), so nobody would pass the fixture;
- `name-taken`: the name is already bound with another meaning (a parameter that
  is not a context, a parametrised argument, a fixture of the module that returns
  something else, or the fixture itself).
"""

from __future__ import annotations

from dataclasses import dataclass

from migrator.facts import FileFacts, FunctionFacts
from migrator.model import ManualReason
from migrator.resolve import Linker

#: Bases that make a class a unittest test case (pytest runs it, without fixtures).
UNITTEST_BASES = frozenset(
    {"unittest.TestCase", "unittest.IsolatedAsyncioTestCase", "unittest.case.TestCase"}
)


@dataclass(frozen=True)
class Injection:
    """The verdict for one site: inject `fixture`, or leave it for `reason`."""

    fixture: str | None
    reason: ManualReason | None


def injection(
    linker: Linker,
    facts: FileFacts,
    function: FunctionFacts,
    fixture: str,
    context: str | None,
) -> Injection | None:
    """None when test code changes nothing here (a context is in scope and usable)."""
    pytest = function.pytest
    bound = pytest.parametrized if pytest is not None else ()
    if context is not None:
        # A parametrised argument named like a context is test data (`None`, a string):
        # the name is taken, and it is no evidence of a context.
        root = context.split(".", 1)[0]
        if root in bound or "?" in bound:
            return Injection(None, ManualReason.NAME_TAKEN)
        return None
    reason = _not_injectable(linker, facts, function)
    if reason is not None:
        return Injection(None, reason)
    if (
        function.name == fixture
        or fixture in bound
        or "?" in bound
        or any(p.name == fixture for p in function.params)
        or _module_fixture_elsewhere(linker, facts, function, fixture)
    ):
        return Injection(None, ManualReason.NAME_TAKEN)
    return Injection(fixture, None)


def _not_injectable(
    linker: Linker, facts: FileFacts, function: FunctionFacts
) -> ManualReason | None:
    parent = function.qualname.rsplit(".", 1)[0]
    if any(f.qualname == parent for f in facts.functions):
        return ManualReason.NOT_A_TEST  # a nested function: pytest never sees it
    if function.class_qualname is not None and _is_unittest(linker, function.class_qualname):
        return ManualReason.UNITTEST_METHOD
    pytest = function.pytest
    if pytest is not None and pytest.fixture:
        return None if pytest.scope == "function" else ManualReason.FIXTURE_SCOPE
    if not function.name.startswith("test"):
        return ManualReason.NOT_A_TEST
    if function.class_qualname is not None:
        class_name = function.class_qualname.rsplit(".", 1)[-1]
        if not class_name.startswith("Test"):
            return ManualReason.NOT_A_TEST
    return None


def _is_unittest(linker: Linker, qualname: str) -> bool:
    """Whether the class derives from a unittest test case, through classes of the tree."""
    seen: set[str] = set()
    frontier = [qualname]
    while frontier:
        name = frontier.pop()
        if name in UNITTEST_BASES:
            return True
        if name in seen:
            continue
        seen.add(name)
        found = linker.classes.get(name)
        if found is not None:
            frontier.extend(found[0].bases)
    return False


def _module_fixture_elsewhere(
    linker: Linker, facts: FileFacts, function: FunctionFacts, fixture: str
) -> bool:
    """A fixture of that name in the test's module (or class) that returns something else."""
    scopes = {f"{facts.module}.{fixture}"}
    if function.class_qualname is not None:
        scopes.add(f"{function.class_qualname}.{fixture}")
    for other in facts.functions:
        if other.qualname not in scopes or other.pytest is None or not other.pytest.fixture:
            continue
        returns = other.pytest.returns
        if returns is not None and not linker.is_context_type(returns):
            return True
    return False
