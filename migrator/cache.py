"""A per-file cache of extracted facts, keyed by content, rule pack, names, module and tool version.

Entries are pickles written to a temporary file and renamed into place, so two
runs sharing the folder never see a half-written entry; a corrupt or unreadable
entry is a miss. The folder carries its own `.gitignore` so it never shows up in
`git status`. Entries not used by a run are pruned at its end, unless they were
written after the run started (by another run sharing the folder).

The cache folder sits inside the repository being audited, and that repository is
untrusted: a pull request could commit entries that say "nothing here" for the
very module that adds a singleton, or a pickle that runs code when loaded. So:

- a cache folder that git tracks (it arrived with the repository, and is in every
  fresh clone of it) is not used at all, neither read nor written nor pruned;
- every entry, and the prefilter index, carries an HMAC-SHA256 made with a key
  that lives outside the repository, in the user's cache folder
  (`$XDG_CACHE_HOME/migrator/cache-key`, else `~/.cache/migrator/cache-key`,
  created on first use with mode 0600). An entry whose tag does not verify (forged,
  or written with another key: a foreign entry) is a miss, checked before a byte
  of it is unpickled;
- and the unpickler only builds the classes of `migrator.facts` and
  `migrator.model` and a few builtin containers, whatever the tag says.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import io
import os
import pickle
import secrets
import time
from pathlib import Path

from migrator import __version__
from migrator.facts import FileFacts
from migrator.writer import TEMP_PREFIX, replace_atomically

#: 6: facts from CPython's `ast` instead of LibCST.
#: 7: suppressions from the tokenizer, entries signed (HMAC).
_FORMAT = 7

#: An entry's bytes: this, the HMAC-SHA256 tag (32 bytes), then the pickle.
_MAGIC = b"migrator-cache-7\n"
_TAG_BYTES = 32

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


def key_file() -> Path:
    """Where the cache's secret key lives: the user's cache folder, never the repository."""
    base = os.environ.get("XDG_CACHE_HOME", "").strip()
    folder = Path(base) if base and Path(base).is_absolute() else Path.home() / ".cache"
    return folder / "migrator" / "cache-key"


def load_secret(root: Path | None = None) -> bytes | None:
    """The key that signs cache entries (created on first use), or None when there is none.

    None when it cannot be read or created, or when it would sit inside `root`
    (the repository being audited): a key the repository can hold is no key.
    """
    path = key_file()
    try:
        if root is not None and path.resolve().is_relative_to(root.resolve()):
            return None
        try:
            secret = path.read_bytes()
        except FileNotFoundError:
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            fresh = secrets.token_bytes(32)
            temporary = path.with_name(f"{TEMP_PREFIX}{os.getpid()}-{secrets.token_hex(4)}.tmp")
            descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(fresh)
            try:
                # link() never replaces: two runs creating the key at once agree on one.
                os.link(temporary, path)
            except FileExistsError:
                pass
            finally:
                os.unlink(temporary)
            secret = path.read_bytes()
    except OSError:
        return None
    return secret if len(secret) >= 32 else None


def _tag(secret: bytes, name: str, payload: bytes) -> bytes:
    """The HMAC of an entry, bound to its name so that no entry can stand for another."""
    return hmac.new(secret, name.encode("ascii") + b"\0" + payload, hashlib.sha256).digest()


def tracked_by_git(directory: Path) -> bool:
    """Whether git tracks anything in `directory` (so it came with the repository)."""
    from migrator.gitutil import GitError, run_git

    try:
        out = run_git(directory.parent, "ls-files", "-z", "--", directory.name)
    except GitError:
        return False  # not a repository (or no git): nothing arrived with it
    return bool(out)


class FactsCache:
    def __init__(self, directory: Path, root: Path | None = None) -> None:
        self.directory = directory
        self.used: set[str] = set()
        self.hits = 0
        self.enabled = True
        self.started = time.time()
        #: Why the cache is off, for people (None when it is on or simply unwritable).
        self.refused: str | None = None
        #: Signs and checks every entry (see the module's docstring).
        self.secret = b""
        if directory.exists() and tracked_by_git(directory):
            self.enabled = False
            self.refused = (
                f"the cache folder {directory.name} is tracked by git (it came with the "
                "repository), so it is ignored; remove it with `git rm -r --cached "
                f"{directory.name}`"
            )
            return
        secret = load_secret(root)
        if secret is None:
            self.enabled = False
            self.refused = f"no cache key could be kept at {key_file()}; the cache is off"
            return
        self.secret = secret
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
            header = len(_MAGIC) + _TAG_BYTES
            if not data.startswith(_MAGIC) or len(data) < header:
                return None
            payload = data[header:]
            if not hmac.compare_digest(data[len(_MAGIC) : header], _tag(self.secret, key, payload)):
                return None  # forged, or written with another key
            value = _SafeUnpickler(io.BytesIO(payload)).load()
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
            payload = pickle.dumps(facts, protocol=pickle.HIGHEST_PROTOCOL)
            _write_atomic(path, _MAGIC + _tag(self.secret, key, payload) + payload)
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
        self,
        directory: Path,
        words: frozenset[str],
        entries: dict[str, list[int]],
        secret: bytes | None = None,
    ) -> None:
        self.directory = directory
        self.words = words
        self.entries = entries
        #: Signs the index as the facts cache signs its entries (None: never saved).
        self.secret = secret

    @classmethod
    def load(cls, directory: Path, secret: bytes | None = None) -> PrefilterIndex:
        """The index in `directory`, or an empty one when it is missing, stale or not
        signed with `secret` (default: the user's key; a file that says which files
        are clean is trusted no more than a facts entry)."""
        import json

        if secret is None:
            secret = load_secret()
        try:
            if secret is None:
                raise ValueError("no key")
            raw = (directory / cls.NAME).read_bytes()
            tag, _, body = raw.partition(b"\n")
            expected = _tag(secret, cls.NAME, body).hex().encode("ascii")
            if not hmac.compare_digest(tag, expected):
                raise ValueError("not signed with this key")
            data = json.loads(body.decode("utf-8"))
            if data.get("format") != _FORMAT or data.get("version") != __version__:
                raise ValueError("stale index")
            words = frozenset(str(w) for w in data["words"])
            entries = {str(k): [int(x) for x in v] for k, v in data["entries"].items()}
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return cls(directory, frozenset(), {}, secret)
        return cls(directory, words, entries, secret)

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
        if self.secret is None:
            return
        body = json.dumps(data, separators=(",", ":")).encode("utf-8")
        tag = _tag(self.secret, self.NAME, body).hex().encode("ascii")
        with contextlib.suppress(OSError):
            _write_atomic(self.directory / self.NAME, tag + b"\n" + body)
