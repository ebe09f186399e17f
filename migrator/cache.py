"""A per-file cache of extracted facts, keyed by content, rule pack, names, module and tool version.

Entries are pickles written to a temporary file and renamed into place, so two
runs sharing the folder never see a half-written entry; a corrupt or unreadable
entry is a miss. The folder carries its own `.gitignore` so it never shows up in
`git status`. Entries not used by a run are pruned at its end, unless they were
written after the run started (by another run sharing the folder).

The cache folder sits inside the repository being audited, and that repository is
untrusted: a cache folder committed to it could hold a pickle that runs code when
loaded. Entries are therefore loaded with an unpickler that only builds the
classes of `migrator.facts` and `migrator.model` and a few builtin containers, and
refuses everything else (a refused entry is a miss).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import pickle
import time
from pathlib import Path

from migrator import __version__
from migrator.facts import FileFacts
from migrator.writer import TEMP_PREFIX, replace_atomically

_FORMAT = 4

#: Cached for a file whose words occur only in strings or comments (nothing to extract).
IRRELEVANT_ENTRY = "migrator:irrelevant"

#: Temporary files of killed runs older than this are removed by `prune`.
_STALE_TEMPORARY_SECONDS = 3600

_SAFE_BUILTINS = frozenset(
    {"frozenset", "set", "tuple", "list", "dict", "str", "int", "bool", "object"}
)
_SAFE_MODULES = frozenset({"migrator.facts", "migrator.model"})


class _SafeUnpickler(pickle.Unpickler):
    """Builds only migrator's own fact and model classes (and plain containers)."""

    def find_class(self, module: str, name: str) -> object:
        if module == "builtins" and name in _SAFE_BUILTINS:
            return super().find_class(module, name)
        if module == "copyreg" and name in {"__newobj__", "_reconstructor"}:
            return super().find_class(module, name)
        if module in _SAFE_MODULES:
            value = super().find_class(module, name)
            if isinstance(value, type):
                return value
        raise pickle.UnpicklingError(f"refusing to load {module}.{name} from the cache")


class FactsCache:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.used: set[str] = set()
        self.hits = 0
        self.enabled = True
        self.started = time.time()
        try:
            directory.mkdir(parents=True, exist_ok=True)
            gitignore = directory / ".gitignore"
            if not gitignore.exists():
                _write_atomic(
                    gitignore, b"# Created by migrator: the cache is never committed.\n*\n"
                )
        except OSError:
            self.enabled = False

    @staticmethod
    def key(
        raw: bytes,
        relpath: str,
        rules_digest: str,
        names: frozenset[str],
        module: str = "",
        is_package: bool = False,
    ) -> str:
        """The entry's key: every input of extraction (the module name depends on the
        `__init__.py` files around the file, not on its bytes, so it is part of it)."""
        digest = hashlib.sha256()
        for part in (
            str(_FORMAT),
            __version__,
            rules_digest,
            relpath,
            module,
            str(is_package),
            ",".join(sorted(names)),
        ):
            digest.update(part.encode("utf-8", "surrogatepass"))
            digest.update(b"\0")
        digest.update(raw)
        return digest.hexdigest()

    def _path(self, key: str) -> Path:
        return self.directory / key[:2] / f"{key[2:]}.pickle"

    def has(self, key: str) -> bool:
        """Whether an entry exists (without loading it); a corrupt one still misses on lookup."""
        return self.enabled and self._path(key).is_file()

    def lookup(self, key: str) -> FileFacts | str | None:
        """The cached facts, `IRRELEVANT_ENTRY`, or None on a miss."""
        if not self.enabled:
            return None
        try:
            with open(self._path(key), "rb") as handle:
                data = handle.read()
            value = _SafeUnpickler(io.BytesIO(data)).load()
        except Exception:
            return None
        if not (isinstance(value, FileFacts) or value == IRRELEVANT_ENTRY):
            return None
        self.used.add(key)
        self.hits += 1
        return value  # type: ignore[no-any-return]

    def get(self, key: str) -> FileFacts | None:
        value = self.lookup(key)
        return value if isinstance(value, FileFacts) else None

    def put(self, key: str, facts: FileFacts | str) -> None:
        if not self.enabled:
            return
        path = self._path(key)
        try:
            path.parent.mkdir(exist_ok=True)
            _write_atomic(path, pickle.dumps(facts, protocol=pickle.HIGHEST_PROTOCOL))
            self.used.add(key)
        except OSError:
            return

    def prune(self) -> int:
        """Delete entries this run did not use (stale content or rules); returns the count.

        An entry written after this run started belongs to another run sharing the
        folder and is kept; so is an entry this run used. Temporary files left by a
        killed run are removed once they are an hour old.
        """
        if not self.enabled:
            return 0
        removed = 0
        now = time.time()
        try:
            folders = [entry for entry in os.scandir(self.directory) if entry.is_dir()]
        except OSError:
            return 0
        for folder in folders:
            try:
                entries = list(os.scandir(folder.path))
            except OSError:
                continue
            for entry in entries:
                try:
                    if entry.name.startswith(TEMP_PREFIX):
                        if now - entry.stat().st_mtime > _STALE_TEMPORARY_SECONDS:
                            os.unlink(entry.path)
                        continue
                    if not entry.name.endswith(".pickle"):
                        continue
                    key = folder.name + entry.name[: -len(".pickle")]
                    if key in self.used or entry.stat().st_mtime >= self.started - 1:
                        continue
                    os.unlink(entry.path)
                    removed += 1
                except OSError:
                    continue
        return removed


def _write_atomic(path: Path, data: bytes) -> None:
    # A cache entry lost in a crash is only a miss: no fsync.
    replace_atomically(path, data, durable=False)


class PrefilterIndex:
    """Which files were found, by the byte prefilter, to mention none of a set of words.

    Keyed by each file's stat signature (size, mtime and ctime in nanoseconds, inode),
    like git's index: a warm run neither reads nor searches a file whose signature is
    unchanged. Plain JSON, so loading it cannot run code. A file modified less than
    two seconds before the run that indexed it is not indexed ("racily clean", as git
    calls it: a later write within the file system's timestamp granularity could
    leave the signature unchanged); ctime cannot be set back by `touch`.
    """

    NAME = "prefilter-index.json"
    _RACY_NS = 2_000_000_000

    def __init__(
        self, directory: Path, words: frozenset[str], entries: dict[str, list[int]]
    ) -> None:
        self.directory = directory
        self.words = words
        self.entries = entries

    @classmethod
    def load(cls, directory: Path) -> PrefilterIndex:
        import json

        try:
            data = json.loads((directory / cls.NAME).read_text(encoding="utf-8"))
            if data.get("format") != _FORMAT or data.get("version") != __version__:
                raise ValueError("stale index")
            words = frozenset(str(w) for w in data["words"])
            entries = {str(k): [int(x) for x in v] for k, v in data["entries"].items()}
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return cls(directory, frozenset(), {})
        return cls(directory, words, entries)

    @staticmethod
    def signature(stat: os.stat_result) -> list[int]:
        return [stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_ino]

    def clean(self, relpath: str, signature: list[int], words: frozenset[str]) -> bool:
        """True when the file is known to mention none of `words`, unchanged since indexed."""
        return words <= self.words and self.entries.get(relpath) == signature

    def save(self, words: frozenset[str], clean: dict[str, list[int]], started_ns: int) -> None:
        import json

        entries = {
            relpath: signature
            for relpath, signature in clean.items()
            if signature[1] < started_ns - self._RACY_NS
            and signature[2] < started_ns - self._RACY_NS
        }
        data = {
            "format": _FORMAT,
            "version": __version__,
            "words": sorted(words),
            "entries": entries,
        }
        with contextlib.suppress(OSError):
            _write_atomic(
                self.directory / self.NAME, json.dumps(data, separators=(",", ":")).encode("utf-8")
            )
