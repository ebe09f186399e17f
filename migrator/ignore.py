"""Gitignore patterns, matched in time that does not explode, however many or hostile.

pathspec (and git's own regex translations) turn a pattern into a backtracking regular
expression: `*a*a*a*a*a*a*a*a*a*a*b` against a long name of `a`s runs for hours, and
100,000 configured `exclude` patterns are tried one by one for every file. Both come
from the repository being audited, so a pull request could stall the gate. Here:

- a segment glob (`*`, `?`, `[...]`, `\\x`) is matched chunk by chunk, leftmost first,
  in time proportional to the name times the pattern (no backtracking between stars);
- `**` segments are matched by a set of reachable positions, not recursion;
- patterns are indexed by what they must contain literally (a whole name, a path, a
  first folder, a prefix or a suffix of the name), so a path meets only the patterns
  that can match it.

The semantics are gitignore(5)'s as pathspec's `GitIgnoreSpec` implements them,
including its rule for a negation under an ignored folder; tests hold the two equal
on generated patterns and paths.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property

_WILD = frozenset("*?[\\")

#: A token of a segment glob: a literal character run, `?`, or a character class.
_Token = tuple[str, str | tuple[bool, frozenset[str], tuple[tuple[str, str], ...]]]


@dataclass(frozen=True)
class _Segment:
    """One `/`-free glob, split at its stars into chunks of fixed-width tokens."""

    chunks: tuple[tuple[_Token, ...], ...]
    starts_with_star: bool
    ends_with_star: bool

    def match(self, name: str) -> bool:
        chunks = self.chunks
        if not self.starts_with_star and not self.ends_with_star and len(chunks) == 1:
            return _width(chunks[0]) == len(name) and _at(chunks[0], name, 0)
        position = 0
        first, last = 0, len(chunks)
        if not self.starts_with_star:
            if not _at(chunks[0], name, 0):
                return False
            position = _width(chunks[0])
            first = 1
        tail: tuple[_Token, ...] = ()
        if not self.ends_with_star and last > first:
            tail = chunks[-1]
            last -= 1
        end = len(name) - _width(tail)
        if end < position:
            return False
        for chunk in chunks[first:last]:
            # Leftmost occurrence: a later one could only leave less room for the rest.
            width = _width(chunk)
            while position + width <= end and not _at(chunk, name, position):
                position += 1
            if position + width > end:
                return False
            position += width
        return not tail or _at(tail, name, end)


def _width(chunk: tuple[_Token, ...]) -> int:
    return sum(len(value) if kind == "lit" else 1 for kind, value in chunk)


def _at(chunk: tuple[_Token, ...], name: str, position: int) -> bool:
    for kind, value in chunk:
        if kind == "lit":
            assert isinstance(value, str)
            if not name.startswith(value, position):
                return False
            position += len(value)
            continue
        if position >= len(name):
            return False
        char = name[position]
        if kind == "class":
            assert not isinstance(value, str)
            negated, singles, ranges = value
            inside = char in singles or any(low <= char <= high for low, high in ranges)
            if inside == negated:
                return False
        position += 1
    return True


def _segment(glob: str) -> _Segment:
    chunks: list[list[_Token]] = [[]]
    literal: list[str] = []

    def flush() -> None:
        if literal:
            chunks[-1].append(("lit", "".join(literal)))
            literal.clear()

    index = 0
    while index < len(glob):
        char = glob[index]
        if char == "*":
            flush()
            if chunks[-1] or len(chunks) == 1:
                chunks.append([])
            index += 1
            continue
        if char == "?":
            flush()
            chunks[-1].append(("any", ""))
        elif char == "[" and (close := _class_end(glob, index)) is not None:
            flush()
            chunks[-1].append(("class", _class(glob[index + 1 : close])))
            index = close
        elif char == "\\" and index + 1 < len(glob):
            index += 1
            literal.append(glob[index])
        else:
            literal.append(char)
        index += 1
    flush()
    starts = glob.startswith("*")
    ends = glob.endswith("*") and not glob.endswith("\\*")
    kept = tuple(tuple(chunk) for chunk in chunks if chunk)
    return _Segment(kept, starts, ends or not kept)


def _class_end(glob: str, start: int) -> int | None:
    index = start + 1
    if index < len(glob) and glob[index] in "!^":
        index += 1
    if index < len(glob) and glob[index] == "]":
        index += 1
    while index < len(glob) and glob[index] != "]":
        if glob[index] == "/":
            return None
        index += 1
    return index if index < len(glob) else None


def _class(body: str) -> tuple[bool, frozenset[str], tuple[tuple[str, str], ...]]:
    negated = body[:1] in ("!", "^")
    if negated:
        body = body[1:]
    singles: set[str] = set()
    ranges: list[tuple[str, str]] = []
    index = 0
    while index < len(body):
        char = body[index]
        if char == "\\" and index + 1 < len(body):
            index += 1
            char = body[index]
        if index + 2 < len(body) and body[index + 1] == "-":
            ranges.append((char, body[index + 2]))
            index += 3
            continue
        singles.add(char)
        index += 1
    return negated, frozenset(singles), tuple(ranges)


@dataclass(frozen=True)
class _Pattern:
    index: int
    include: bool  # False for a negation (`!pattern`)
    dir_only: bool
    #: Anchored patterns match the path from the base folder; the others, one name at any depth.
    anchored: bool
    globs: tuple[str, ...]  # the `/`-separated parts as written, `**` included
    ends_with_globstar: bool

    @cached_property
    def segments(self) -> tuple[_Segment | None, ...]:
        """The compiled globs (None: a `**` segment), built when the pattern is first
        tried: of 100,000 patterns, a path meets only the few its index picks."""
        return tuple(None if part == "**" else _segment(part) for part in self.globs)

    def matches(self, parts: Sequence[str], is_dir: bool) -> bool:
        """Whether the pattern matches exactly this path (not a folder above it)."""
        if self.dir_only and not is_dir:
            return False
        if not self.anchored:
            segment = self.segments[0]
            assert segment is not None
            return segment.match(parts[-1])
        reachable = {0}
        for position, segment in enumerate(self.segments):
            last = position == len(self.segments) - 1
            if segment is None:
                low = min(reachable)
                # A trailing `/**` matches what is inside, or the folder itself when asked
                # about the folder (pathspec's `dir/` form).
                start = low + 1 if last and not is_dir else low
                reachable = set(range(start, len(parts) + 1))
            else:
                reachable = {
                    at + 1 for at in reachable if at < len(parts) and segment.match(parts[at])
                }
            if not reachable:
                return False
        return len(parts) in reachable


def _parse(line: str, index: int) -> _Pattern | None:
    if line.startswith("#"):
        return None
    # Trailing blanks are dropped unless escaped with a backslash.
    stripped = line.rstrip(" \t")
    if stripped.endswith("\\") and len(stripped) < len(line):
        stripped += line[len(stripped)]
    line = stripped
    if not line:
        return None
    include = True
    if line.startswith("!"):
        include = False
        line = line[1:]
    elif line.startswith("\\!") or line.startswith("\\#"):
        line = line[1:]
    dir_only = line.endswith("/")
    line = line.rstrip("/")
    if not line:
        return None
    anchored = "/" in line
    line = line.lstrip("/")
    raw = [part for part in line.split("/") if part]
    if not raw:
        return None
    collapsed: list[str] = []
    for part in raw:
        if part == "**" and collapsed and collapsed[-1] == "**":
            continue
        collapsed.append(part)
    # `*` alone and a pattern ending in `**` match without a directory mark, as in pathspec.
    ends_with_globstar = (collapsed[-1] == "**" or (raw == ["*"] and not anchored)) and not dir_only
    if collapsed == ["**"]:
        collapsed = ["**", "*"]  # everything: any name at any depth
    if collapsed[0] == "**" and len(collapsed) == 2 and collapsed[1] != "**":
        # `**/name` is `name` at any depth.
        anchored = False
        collapsed = collapsed[1:]
    return _Pattern(index, include, dir_only, anchored, tuple(collapsed), ends_with_globstar)


def _literal(glob: str) -> str | None:
    return glob if not (_WILD & set(glob)) else None


class PatternSet:
    """Compiled gitignore lines; `match` answers like pathspec's `GitIgnoreSpec.match_file`."""

    def __init__(self, lines: Iterable[str]) -> None:
        self.names: dict[str, list[_Pattern]] = {}  # unanchored, a literal name
        self.paths: dict[str, list[_Pattern]] = {}  # anchored, every segment literal
        self.prefixes: dict[str, list[_Pattern]] = {}  # unanchored, literal text before a wildcard
        self.suffixes: dict[str, list[_Pattern]] = {}  # unanchored, literal text after the last one
        self.first: dict[str, list[_Pattern]] = {}  # anchored, a literal first segment
        #: The others, by the longest literal text they contain (a name or a folder of
        #: the path must contain it), looked up by the substrings of those lengths.
        self.inner: dict[str, list[_Pattern]] = {}
        self.inner_lengths: set[int] = set()
        self.rest: list[_Pattern] = []  # no literal text at all
        self.count = 0
        #: Without a negation, any match ignores: no need to rank the matches.
        self.negations = False
        for index, line in enumerate(lines):
            pattern = _parse(line, index)
            if pattern is None:
                continue
            self.count += 1
            self.negations = self.negations or not pattern.include
            self._index(pattern)

    def _index(self, pattern: _Pattern) -> None:
        if not pattern.anchored:
            name = pattern.globs[-1]
            if (literal := _literal(name)) is not None:
                self.names.setdefault(literal, []).append(pattern)
                return
            head = _literal_prefix(name)
            if head:
                self.prefixes.setdefault(head, []).append(pattern)
                return
            tail = _literal_suffix(name)
            if tail:
                self.suffixes.setdefault(tail, []).append(pattern)
                return
        else:
            parts = pattern.globs
            if all(_literal(p) is not None for p in parts):
                self.paths.setdefault("/".join(parts), []).append(pattern)
                return
            if parts and _literal(parts[0]) is not None and parts[0] != "**":
                self.first.setdefault(parts[0], []).append(pattern)
                return
        runs = [run for glob in pattern.globs for run in _literal_runs(glob)]
        if runs:
            longest = max(runs, key=len)
            self.inner.setdefault(longest, []).append(pattern)
            self.inner_lengths.add(len(longest))
            return
        self.rest.append(pattern)

    def __bool__(self) -> bool:
        return self.count > 0

    def _candidates(self, parts: Sequence[str], depth: int) -> Iterable[_Pattern]:
        name = parts[depth - 1]
        yield from self.names.get(name, ())
        yield from self.paths.get("/".join(parts[:depth]), ())
        yield from self.first.get(parts[0], ())
        if self.prefixes:
            for end in range(1, len(name) + 1):
                yield from self.prefixes.get(name[:end], ())
        if self.suffixes:
            for start in range(len(name)):
                yield from self.suffixes.get(name[start:], ())
        if self.inner:
            seen: set[str] = set()
            for part in parts[:depth]:
                for length in self.inner_lengths:
                    for start in range(len(part) - length + 1):
                        text = part[start : start + length]
                        if text not in seen:
                            seen.add(text)
                            yield from self.inner.get(text, ())
        yield from self.rest

    def match(self, rel: str, is_dir: bool) -> bool:
        """Whether `rel` (relative to the folder of the patterns) is ignored."""
        parts = rel.split("/")
        # index -> matched the path itself (True) or only a folder above it (False)
        hits: dict[int, tuple[_Pattern, bool]] = {}
        for depth in range(len(parts), 0, -1):
            whole = depth == len(parts)
            prefix = parts[:depth]
            for pattern in self._candidates(parts, depth):
                if pattern.index in hits:
                    continue  # already matched the path itself or a deeper folder
                if pattern.matches(prefix, is_dir if whole else True):
                    if not self.negations:
                        return True
                    hits[pattern.index] = (pattern, whole)
        # pathspec's (and git's) ranking: the last pattern that matches the path itself
        # decides; if none does, the last one that matches it through a directory mark
        # (a folder above it, or the folder itself when asked about a folder).
        included: bool | None = None
        for index in sorted(hits, reverse=True):
            pattern, whole = hits[index]
            if whole and not (is_dir and not pattern.ends_with_globstar):
                return pattern.include
            if included is None:
                included = pattern.include
        return bool(included)


def _literal_runs(glob: str) -> list[str]:
    """The plain text between the wildcards of a glob (escapes and classes end a run)."""
    runs: list[str] = []
    current: list[str] = []
    index = 0
    while index < len(glob):
        char = glob[index]
        if char in _WILD:
            if current:
                runs.append("".join(current))
                current = []
            if char == "[" and (close := _class_end(glob, index)) is not None:
                index = close
            elif char == "\\":
                index += 1
        else:
            current.append(char)
        index += 1
    if current:
        runs.append("".join(current))
    return [run for run in runs if run != "**"]


def _literal_prefix(glob: str) -> str:
    for index, char in enumerate(glob):
        if char in _WILD:
            return glob[:index]
    return glob


def _literal_suffix(glob: str) -> str:
    for index in range(len(glob) - 1, -1, -1):
        if glob[index] in _WILD:
            tail = glob[index + 1 :]
            # An escaped or class-closing character is not a plain literal tail.
            return "" if glob[index] == "\\" or "]" in tail else tail
    return glob
