"""A per-file cache of extracted facts, keyed by content, rule pack, names and tool version.

Entries are pickles written to a temporary file and renamed into place, so two
runs sharing the folder never see a half-written entry; a corrupt or unreadable
entry is a miss. The folder carries its own `.gitignore` so it never shows up in
`git status`. Entries not used by a run are pruned at its end.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import tempfile
from pathlib import Path

from migrator import __version__
from migrator.facts import FileFacts

_FORMAT = 1


class FactsCache:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.used: set[str] = set()
        self.hits = 0
        self.enabled = True
        try:
            directory.mkdir(parents=True, exist_ok=True)
            gitignore = directory / ".gitignore"
            if not gitignore.exists():
                gitignore.write_text("# Created by migrator: the cache is never committed.\n*\n")
        except OSError:
            self.enabled = False

    @staticmethod
    def key(raw: bytes, relpath: str, rules_digest: str, names: frozenset[str]) -> str:
        digest = hashlib.sha256()
        for part in (str(_FORMAT), __version__, rules_digest, relpath, ",".join(sorted(names))):
            digest.update(part.encode("utf-8"))
            digest.update(b"\0")
        digest.update(raw)
        return digest.hexdigest()

    def _path(self, key: str) -> Path:
        return self.directory / key[:2] / f"{key[2:]}.pickle"

    def get(self, key: str) -> FileFacts | None:
        if not self.enabled:
            return None
        try:
            with open(self._path(key), "rb") as handle:
                value = pickle.load(handle)
        except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError, TypeError):
            return None
        if not isinstance(value, FileFacts):
            return None
        self.used.add(key)
        self.hits += 1
        return value

    def put(self, key: str, facts: FileFacts) -> None:
        if not self.enabled:
            return
        path = self._path(key)
        try:
            path.parent.mkdir(exist_ok=True)
            fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".pickle")
            with os.fdopen(fd, "wb") as handle:
                pickle.dump(facts, handle, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(temporary, path)
            self.used.add(key)
        except OSError:
            return

    def prune(self) -> int:
        """Delete entries this run did not use (stale content or rules); returns the count."""
        if not self.enabled:
            return 0
        removed = 0
        for entry in self.directory.glob("*/*.pickle"):
            key = entry.parent.name + entry.stem
            if key not in self.used:
                try:
                    entry.unlink()
                    removed += 1
                except OSError:
                    pass
        return removed
