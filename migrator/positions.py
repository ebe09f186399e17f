"""Source positions of the few LibCST nodes the extractor reports, taken from CPython's `ast`.

LibCST's `PositionProvider` generates the code of the whole module to place every
node: on the benchmark corpus that was half of each extraction. The extractor only
asks for the positions of calls, function and class definitions, imports,
assignments and `default_factory=`/`factory=` values, and CPython's parser (in C,
already run on every file to refuse deep nesting) knows those for free.

The two trees are aligned kind by kind: for each kind, LibCST's nodes in visiting
order and `ast`'s nodes sorted by start (outer before inner on a tie) are the same
nodes in the same order, since both follow the source. The ranges agree: both
leave out a node's own parentheses, and a decorated definition starts at `def` or
`class`. Only columns differ (`ast` counts UTF-8 bytes, LibCST characters) and are
converted. When the counts of some kind differ, or the text has a lone `\\r` line
break, the extractor falls back to `PositionProvider`.
`tests/test_positions.py` checks the agreement on arbitrary generated programs.
"""

from __future__ import annotations

import ast
from typing import Any

import libcst as cst
from libcst.metadata import CodePosition, CodeRange

from migrator.scopes import FACTORY_KEYWORDS

#: The kinds of node whose position is reported: the LibCST type and the `ast` types.
#: A kind's index is its place here; `default_factory=` values come last.
_KINDS: tuple[tuple[type[cst.CSTNode], tuple[type[ast.AST], ...]], ...] = (
    (cst.Call, (ast.Call,)),
    (cst.FunctionDef, (ast.FunctionDef, ast.AsyncFunctionDef)),
    (cst.ClassDef, (ast.ClassDef,)),
    (cst.Import, (ast.Import,)),
    (cst.ImportFrom, (ast.ImportFrom,)),
    (cst.Assign, (ast.Assign,)),
    (cst.AnnAssign, (ast.AnnAssign,)),
)
_KIND_BY_TYPE: dict[type, int] = {cst_type: index for index, (cst_type, _) in enumerate(_KINDS)}
_KIND_BY_AST_TYPE: dict[type, int] = {
    ast_type: index for index, (_, ast_types) in enumerate(_KINDS) for ast_type in ast_types
}
_FACTORY_KIND = len(_KINDS)


def _start(node: Any) -> tuple[int, int, int, int]:
    return (node.lineno, node.col_offset, -node.end_lineno, -node.end_col_offset)


def _column(lines: list[str], line: int, byte_offset: int) -> int:
    """The character column of a UTF-8 byte offset into line `line` (1-based)."""
    text = lines[line - 1] if 0 < line <= len(lines) else ""
    if text.isascii():
        return byte_offset
    return len(text.encode("utf-8")[:byte_offset].decode("utf-8", errors="replace"))


class Misaligned(Exception):
    """The two trees did not line up for some kind of node; use LibCST's positions."""


class Aligner:
    """Positions handed out while a visitor walks the CST in source order.

    The visitor calls `note` on every node it enters; the k-th node of a kind gets
    the range of the k-th `ast` node of that kind. Lookups of a node not yet noted,
    or counts that differ at the end (`check`), raise `Misaligned`.
    """

    def __init__(self, tree: ast.Module, text: str) -> None:
        self.lines = text.replace("\r\n", "\n").split("\n")
        kinds: list[list[ast.AST]] = [[] for _ in range(_FACTORY_KIND + 1)]
        for node in ast.walk(tree):
            kind = _KIND_BY_AST_TYPE.get(type(node))
            if kind is not None:
                kinds[kind].append(node)
            if isinstance(node, ast.keyword) and node.arg in FACTORY_KEYWORDS:
                kinds[_FACTORY_KIND].append(node.value)
        self.kinds = [sorted(nodes, key=_start) for nodes in kinds]
        self.counts = [0] * len(kinds)
        self.noted: dict[cst.CSTNode, tuple[int, int]] = {}

    @staticmethod
    def usable(text: str) -> bool:
        # A lone \r, or a form feed (which LibCST does not reproduce exactly, so its
        # positions follow its own code rather than the file), and the two parsers
        # need not agree: LibCST's positions are used.
        return "\x0c" not in text and "\r" not in text.replace("\r\n", "")

    def note(self, node: cst.CSTNode) -> None:
        kind = _KIND_BY_TYPE.get(type(node))
        if kind is not None:
            self._take(kind, node)
        elif (
            type(node) is cst.Arg
            and isinstance(node, cst.Arg)
            and node.keyword is not None
            and node.keyword.value in FACTORY_KEYWORDS
        ):
            self._take(_FACTORY_KIND, node.value)

    def _take(self, kind: int, node: cst.CSTNode) -> None:
        self.noted[node] = (kind, self.counts[kind])
        self.counts[kind] += 1

    def __getitem__(self, node: cst.CSTNode) -> CodeRange:
        try:
            kind, index = self.noted[node]
            found: Any = self.kinds[kind][index]
        except (KeyError, IndexError):
            raise Misaligned from None
        return CodeRange(
            CodePosition(found.lineno, _column(self.lines, found.lineno, found.col_offset)),
            CodePosition(
                found.end_lineno, _column(self.lines, found.end_lineno, found.end_col_offset)
            ),
        )

    def check(self) -> None:
        if self.counts != [len(nodes) for nodes in self.kinds]:
            raise Misaligned
