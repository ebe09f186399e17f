"""LibCST codemods of migrator, one per module; each also runs under `python -m libcst.tool codemod`.

`CODEMODS` lists them in the order the fixer applies them: the test-context
fixture first (a test gains the parameter that becomes its sites' context), then
direct constructions in sync code (`sync: direct`), then context managers (they move whole statements), then factory calls (they replace
expressions).
"""

from migrator.codemods.context_manager import RewriteToContextManager
from migrator.codemods.direct_construction import BuildDirectly
from migrator.codemods.factory_call import RewriteToFactory
from migrator.codemods.inject_fixture import InjectFixture

CODEMODS = (InjectFixture, BuildDirectly, RewriteToContextManager, RewriteToFactory)

__all__ = [
    "CODEMODS",
    "BuildDirectly",
    "InjectFixture",
    "RewriteToContextManager",
    "RewriteToFactory",
]
