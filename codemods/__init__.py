"""LibCST codemods of migrator, one per module; each also runs under `python -m libcst.tool codemod`.

`CODEMODS` lists them in the order the fixer applies them: context managers first
(they move whole statements), then factory calls (they replace expressions).
"""

from codemods.context_manager import RewriteToContextManager
from codemods.factory_call import RewriteToFactory

CODEMODS = (RewriteToContextManager, RewriteToFactory)

__all__ = ["CODEMODS", "RewriteToContextManager", "RewriteToFactory"]
