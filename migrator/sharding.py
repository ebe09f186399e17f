"""`--shard I/N`: split the files of a run across N CI jobs, deterministically.

A file belongs to shard `I` (1-based) when a hash of its path relative to the
root, taken modulo N, is `I - 1`. The split depends only on the path, so every
job of a CI matrix agrees on it without talking to the others, whatever order
the files are found in and whatever machine runs the job; each file is in
exactly one shard. `migrator report merge` joins the shards' JSON outputs.
"""

from __future__ import annotations

import hashlib
import re

_SHARD = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")


class ShardError(ValueError):
    """A `--shard` value that is not `I/N` with 1 <= I <= N."""


def parse_shard(text: str) -> tuple[int, int]:
    """`"2/4"` -> `(2, 4)`. Shards are numbered from 1, like a CI matrix index + 1."""
    match = _SHARD.match(text)
    if match is None:
        raise ShardError("expected I/N, for example 1/4 (shards are numbered from 1)")
    index, count = int(match.group(1)), int(match.group(2))
    if count < 1:
        raise ShardError("N must be at least 1")
    if not 1 <= index <= count:
        raise ShardError(f"I must be between 1 and {count} (shards are numbered from 1)")
    return index, count


def shard_of(relpath: str, count: int) -> int:
    """The 1-based shard that `relpath` belongs to."""
    digest = hashlib.sha256(relpath.replace("\\", "/").encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % count + 1


def in_shard(relpath: str, index: int, count: int) -> bool:
    return shard_of(relpath, count) == index
