"""Which files a run looks at, and what Python module each one is.

Walks the paths given, keeps `.py` files, honours `.gitignore` files (nested ones
too, plus `.git/info/exclude`) and configured excludes, never follows a symlink
out of the root and never loops on a symlink cycle. Works outside git as well:
the `.gitignore` files are read directly.

The default excludes (`venv/`, `node_modules/`, ...) and `.gitignore` only say what is
*probably* not the project's code, so they never hide code that runs: a file git
tracks is analysed wherever it is (a pull request can put a module in `venv/` and
import it), and so is a file that a scanned module imports (found by its path from
the root, a source root or the importing file's folder). Only the configured
`exclude` patterns are absolute. Git is run once, for `git ls-files`, and only when
one of those soft rules leaves something out.

A file or folder whose name is not valid UTF-8 is reported as an error and skipped:
every report format, the cache and the fingerprints need text.
"""

from __future__ import annotations

import fnmatch
import keyword
import os
import re
import subprocess
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path, PurePosixPath

from migrator.ignore import PatternSet
from migrator.model import FileError


@dataclass(frozen=True)
class SourceFile:
    """A Python file to look at: its absolute path and its path relative to the root."""

    #: The absolute path as a string: building a `Path` per file cost a third of a
    #: warm run's discovery on a large tree, and most files never need one.
    location: str
    relpath: str

    @cached_property
    def path(self) -> Path:
        return Path(self.location)


@dataclass(frozen=True)
class Discovery:
    files: tuple[SourceFile, ...]
    errors: tuple[FileError, ...]


class _IgnoreRules:
    """The gitignore specs that apply inside one folder (its own plus its ancestors')."""

    def __init__(self, specs: tuple[tuple[str, PatternSet], ...]) -> None:
        self.specs = specs

    def child(self, folder_rel: str, gitignore: Path) -> _IgnoreRules:
        try:
            lines = gitignore.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            return self
        spec = _compile(lines)
        if spec is None:
            return self
        return _IgnoreRules((*self.specs, (folder_rel, spec)))

    def ignored(self, relpath: str, is_dir: bool) -> bool:
        for base, spec in self.specs:
            if base and not relpath.startswith(base + "/"):
                continue
            local = relpath[len(base) + 1 :] if base else relpath
            if spec.match(local, is_dir):
                return True
        return False


def _compile(lines: Sequence[str]) -> PatternSet | None:
    # Not pathspec: its backtracking regexes let one hostile pattern, or 100,000 of
    # them, stall a run (migrator/ignore.py).
    spec = PatternSet(lines)
    return spec if spec else None


def discover(
    root: Path,
    paths: Sequence[str],
    *,
    exclude: Sequence[str] = (),
    respect_gitignore: bool = True,
    max_file_bytes: int | None = None,
    on_found: Callable[[int], None] | None = None,
) -> Discovery:
    """Find the Python files under `paths` (relative to the current folder or absolute).

    `on_found` is called with the number of files found so far, every 100 files,
    so a caller can start preparing for a large tree while the walk goes on.
    """
    root = root.resolve()
    errors: list[FileError] = []
    found: dict[str, SourceFile] = {}
    from migrator.config import DEFAULT_EXCLUDES

    excluded = _Excludes(exclude)
    defaults = _Excludes(DEFAULT_EXCLUDES)
    base_rules = _IgnoreRules(())
    if respect_gitignore:
        info_exclude = root / ".git" / "info" / "exclude"
        if info_exclude.is_file():
            base_rules = base_rules.child("", info_exclude)
    walker = _Walker(root, base_rules, excluded, defaults, respect_gitignore, errors)
    for raw in paths or (".",):
        shown = printable(raw)
        if shown != raw:
            errors.append(FileError(shown, NOT_UTF8))
            continue
        given = Path(raw)
        absolute = given if given.is_absolute() else Path.cwd() / given
        if not absolute.exists() and not absolute.is_symlink():
            errors.append(FileError(shown, "no such file or directory"))
            continue
        resolved = absolute.resolve()
        if not _inside(resolved, root):
            errors.append(
                FileError(shown, f"outside the repository root {root}; pass --root to widen it")
            )
            continue
        rel = resolved.relative_to(root).as_posix()
        rel = "" if rel == "." else rel
        if resolved.is_dir():
            rules = walker.rules_for(rel) if respect_gitignore else base_rules
            before = len(found)
            for source in walker.walk(resolved, rel, rules):
                found.setdefault(source.relpath, source)
                if on_found is not None and len(found) % 100 == 0:
                    on_found(len(found))
            if len(found) == before and (why := walker.skipped_because(rel)) is not None:
                # Nothing under a folder the user named: say why, instead of a silent 0.
                errors.append(FileError(shown, why))
        elif resolved.is_file():
            # An explicitly named file is analysed even if ignored, like `git add -f`;
            # only its suffix is checked.
            if resolved.suffix != ".py":
                errors.append(FileError(shown, "not a Python file (.py); skipped"))
                continue
            found.setdefault(rel, SourceFile(str(resolved), rel))
            if on_found is not None and len(found) % 100 == 0:
                on_found(len(found))
        else:
            errors.append(FileError(shown, "not a regular file or folder; skipped"))
    if walker.pruned:
        _add_imported(found, walker, max_file_bytes)
    files = sorted(found.values(), key=lambda s: s.relpath)
    if max_file_bytes is not None:
        kept = []
        for source in files:
            try:
                size = os.stat(source.location).st_size
            except OSError as error:
                errors.append(FileError(source.relpath, f"cannot read: {error.strerror}"))
                continue
            if size > max_file_bytes:
                errors.append(
                    FileError(
                        source.relpath,
                        f"file is {size:,} bytes, over the {max_file_bytes:,}-byte limit; skipped "
                        "(raise max_file_bytes in [tool.migrator] to include it)",
                    )
                )
                continue
            kept.append(source)
        files = kept
    return Discovery(tuple(files), tuple(errors))


def _inside(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


NOT_UTF8 = (
    "file or folder name is not valid UTF-8 (shown with \\x escapes); skipped: "
    "rename it to audit it"
)


def printable(name: str) -> str:
    """A name from the file system as text any report can carry.

    Python decodes a name that is not valid UTF-8 with lone surrogates, which no
    encoder, JSON or XML writer accepts; such bytes are shown as `\\xNN` escapes.
    """
    if name.isascii():
        return name
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return os.fsencode(name).decode("utf-8", "backslashreplace")
    return name


def _tracked(root: Path) -> tuple[frozenset[str], frozenset[str]]:
    """The files git tracks under `root` (relative to it), and every folder above them.

    Outside a git work tree, or without git, nothing is tracked.
    """
    try:
        done = subprocess.run(
            ["git", "-C", str(root), "ls-files", "-z", "--cached"],
            capture_output=True,
            check=False,
            timeout=120,
        )
    except (OSError, subprocess.SubprocessError):
        return frozenset(), frozenset()
    if done.returncode != 0:
        return frozenset(), frozenset()
    files = frozenset(os.fsdecode(raw) for raw in done.stdout.split(b"\0") if raw)
    folders: set[str] = set()
    for rel in files:
        parent = rel.rpartition("/")[0]
        while parent and parent not in folders:
            folders.add(parent)
            parent = parent.rpartition("/")[0]
    return files, frozenset(folders)


_IMPORT = re.compile(
    rb"^[ \t]*(?:from[ \t]+(?P<dots>\.*)[ \t]*(?P<module>[\w.]*)[ \t]+import[ \t]*"
    rb"(?:\((?P<group>[^)]*)\)|(?P<names>[^\n#;]*))|import[ \t]+(?P<plain>[^\n#;]*))",
    re.MULTILINE,
)


def _imported_paths(source: bytes, folder: str) -> Iterator[tuple[str | None, tuple[str, ...]]]:
    """(base folder, dotted parts) for each module an import statement may load.

    An absolute import (`base` None) is looked up from the root and the source roots,
    a relative one from the importing file's folder. A text search, not a parse: it may find an import
    in a string, which only means one more file is analysed.
    """
    for match in _IMPORT.finditer(source):
        if match["plain"] is not None:
            for item in match["plain"].decode("utf-8", "replace").split(","):
                name = item.split(" as ")[0].strip()
                if name:
                    yield None, tuple(name.split("."))
            continue
        dots = len(match["dots"])
        module = tuple(p for p in match["module"].decode("utf-8", "replace").split(".") if p)
        names = (match["group"] if match["group"] is not None else match["names"] or b"").decode(
            "utf-8", "replace"
        )
        base: str | None = None
        if dots:
            parts = folder.split("/") if folder else []
            if dots - 1 > len(parts):
                continue
            base = "/".join(parts[: len(parts) - (dots - 1)])
        if module:
            yield base, module
        for item in names.split(","):
            name = item.split(" as ")[0].strip()
            if name.isidentifier():
                yield base, (*module, name)


def _importable(name: str) -> bool:
    """Whether an import statement can name this file or folder (`.venv`, `node-modules`
    and `__pycache__` it cannot), so that it is worth looking for imports of it: with
    nothing importable left out, no file is read here."""
    stem = name.removesuffix(".py")
    return stem.isidentifier() and stem != "__pycache__" and not keyword.iskeyword(stem)


def _add_imported(
    found: dict[str, SourceFile], walker: _Walker, max_file_bytes: int | None
) -> None:
    """Add the files left out by a soft rule that a found (or added) module imports."""
    pruned = walker.pruned
    names = sorted({re.escape(p.rpartition("/")[2].removesuffix(".py")) for p in pruned})
    mentions = re.compile(("\\b(?:" + "|".join(names) + ")\\b").encode("utf-8"))

    def under_pruned(rel: str) -> bool:
        parts = rel.split("/")
        return any("/".join(parts[:end]) in pruned for end in range(1, len(parts) + 1))

    queue = list(found.values())
    while queue:
        source = queue.pop()
        try:
            with open(source.location, "rb") as handle:
                # A file over the limit is skipped (and reported) below, never read.
                if (
                    max_file_bytes is not None
                    and os.fstat(handle.fileno()).st_size > max_file_bytes
                ):
                    continue
                text = handle.read()
        except OSError:
            continue
        inside = under_pruned(source.relpath)
        if not inside and mentions.search(text) is None:
            continue
        folder = source.relpath.rpartition("/")[0]
        for base, parts in _imported_paths(text, folder):
            bases = [base] if base is not None else ["", *walker.source_roots]
            for start in bases:
                for end in range(1, len(parts) + 1):
                    stem = "/".join(p for p in (start, *parts[:end]) if p)
                    for rel in (f"{stem}.py", f"{stem}/__init__.py"):
                        if rel in found or not under_pruned(rel):
                            continue
                        if walker.excluded(rel, False) or printable(rel) != rel:
                            continue
                        location = os.path.join(walker.root, rel)
                        if os.path.isfile(location) and _inside(
                            Path(location).resolve(), walker.root
                        ):
                            found[rel] = SourceFile(location, rel)
                            queue.append(found[rel])


_SIMPLE_DIR_PATTERN = re.compile(r"[A-Za-z0-9._-]+/")


class _Excludes:
    """The configured excludes, with the common `name/` patterns answered by a set lookup.

    A gitignore pattern `name/` with no other slash and no wildcard matches a folder
    called `name` at any depth, and everything inside it. Such patterns (all the
    default excludes) are checked against the path's folder names directly; the rest
    go to a `PatternSet`. With a negation (`!pattern`) anywhere, the `PatternSet`
    decides everything, since a later pattern could re-include what an earlier one
    excluded.
    """

    def __init__(self, patterns: Sequence[str]) -> None:
        lines = [
            line.strip() for line in patterns if line.strip() and not line.lstrip().startswith("#")
        ]
        if any(line.startswith("!") for line in lines):
            self.names: frozenset[str] = frozenset()
            self.spec = _compile(lines)
        else:
            simple = [line for line in lines if _SIMPLE_DIR_PATTERN.fullmatch(line)]
            self.names = frozenset(line[:-1] for line in simple)
            self.spec = _compile([line for line in lines if line not in simple])

    def __call__(self, rel: str, is_dir: bool) -> bool:
        if self.names:
            parts = rel.split("/")
            folders = parts if is_dir else parts[:-1]
            if not self.names.isdisjoint(folders):
                return True
        if self.spec is None:
            return False
        return self.spec.match(rel, is_dir)


class _Walker:
    def __init__(
        self,
        root: Path,
        base_rules: _IgnoreRules,
        excluded: _Excludes,
        defaults: _Excludes,
        respect_gitignore: bool,
        errors: list[FileError],
        source_roots: Sequence[str] = ("src",),
    ) -> None:
        self.root = root
        self.base_rules = base_rules
        #: The configured excludes: absolute.
        self.excluded = excluded
        #: The default excludes: like .gitignore, they yield to git and to imports.
        self.defaults = defaults
        self.respect_gitignore = respect_gitignore
        self.errors = errors
        self.source_roots = tuple(source_roots)
        self.visited: set[tuple[int, int]] = set()
        #: What a soft rule (default excludes, .gitignore) left out and git does not
        #: track: files and the folders not walked. Imports may bring files back.
        self.pruned: set[str] = set()
        self._tracked: tuple[frozenset[str], frozenset[str]] | None = None

    def tracked(self) -> tuple[frozenset[str], frozenset[str]]:
        """Git's tracked files and their folders, asked once, when first needed."""
        if self._tracked is None:
            self._tracked = _tracked(self.root)
        return self._tracked

    def skipped_because(self, rel: str) -> str | None:
        """Why folder `rel` (or a folder above it) is left out of every walk, if it is."""
        parts = rel.split("/") if rel else []
        for end in range(1, len(parts) + 1):
            folder = "/".join(parts[:end])
            if self.excluded(folder, True) or self.defaults(folder, True):
                return (
                    f"{folder}/ is excluded (default excludes or the exclude setting), so "
                    "nothing in it is audited; to audit it, pass --root pointing at it"
                )
            if self.respect_gitignore:
                parent = "/".join(parts[: end - 1])
                if self.rules_for(parent).ignored(folder, True):
                    return (
                        f"{folder}/ is ignored by .gitignore, so nothing in it is audited; to "
                        "audit it, pass --root pointing at it or set respect_gitignore = false"
                    )
        return None

    def rules_for(self, rel: str) -> _IgnoreRules:
        """The gitignore rules in force in folder `rel`, read from the root down."""
        rules = self.base_rules
        parts = PurePosixPath(rel).parts if rel else ()
        folder = self.root
        prefix = ""
        for part in ("", *parts):
            if part:
                folder = folder / part
                prefix = f"{prefix}/{part}" if prefix else part
            gitignore = folder / ".gitignore"
            if gitignore.is_file():
                rules = rules.child(prefix, gitignore)
        return rules

    def walk(
        self, folder: Path | str, rel: str, rules: _IgnoreRules, soft: bool = False
    ) -> Iterator[SourceFile]:
        """The Python files in `folder`; `soft`: a soft rule left the folder out, and
        only what git tracks in it is walked."""
        # Plain strings and DirEntry objects throughout: pathlib objects per entry were
        # a third of a warm run's time on a large tree.
        folder = os.fspath(folder)
        try:
            stat = os.stat(folder)
        except OSError as error:
            self.errors.append(FileError(rel or ".", f"cannot read folder: {error.strerror}"))
            return
        key = (stat.st_dev, stat.st_ino)
        if key in self.visited:
            self.errors.append(
                FileError(rel or ".", "symlink loop; folder already visited, skipped")
            )
            return
        self.visited.add(key)
        try:
            with os.scandir(folder) as iterator:
                entries = sorted(iterator, key=lambda e: e.name)
        except OSError as error:
            self.errors.append(FileError(rel or ".", f"cannot list folder: {error.strerror}"))
            return
        if self.respect_gitignore and rel and any(e.name == ".gitignore" for e in entries):
            gitignore = Path(folder, ".gitignore")
            if gitignore.is_file():
                rules = rules.child(rel, gitignore)
        check_ignored = self.respect_gitignore and bool(rules.specs)
        for entry in entries:
            name = entry.name
            if not name.isascii() and printable(name) != name:
                shown = printable(f"{rel}/{name}" if rel else name)
                try:
                    is_folder = entry.is_dir(follow_symlinks=False)
                except OSError:
                    is_folder = False
                if name.endswith(".py") or is_folder:
                    self.errors.append(FileError(shown, NOT_UTF8))
                continue
            try:
                is_link = entry.is_symlink()
                is_dir = entry.is_dir(follow_symlinks=True)
                is_file = (
                    not is_dir and name.endswith(".py") and entry.is_file(follow_symlinks=True)
                )
            except OSError:
                continue
            if not is_dir and not is_file and not is_link:
                continue
            child_rel = f"{rel}/{name}" if rel else name
            if self.excluded(child_rel, is_dir):
                continue
            child_soft = (
                soft
                or self.defaults(child_rel, is_dir)
                or (check_ignored and rules.ignored(child_rel, is_dir))
            )
            if child_soft:
                files, folders = self.tracked()
                if child_rel not in (folders if is_dir else files):
                    if (is_dir or is_file) and _importable(name):
                        self.pruned.add(child_rel)
                    continue
            if is_link:
                try:
                    real = Path(entry.path).resolve(strict=True)
                except (OSError, RuntimeError):
                    self.errors.append(
                        FileError(child_rel, "broken symlink or symlink loop; skipped")
                    )
                    continue
                if not _inside(real, self.root):
                    self.errors.append(
                        FileError(child_rel, "symlink points outside the repository root; skipped")
                    )
                    continue
            if is_dir:
                yield from self.walk(entry.path, child_rel, rules, child_soft)
            elif is_file:
                yield SourceFile(entry.path, child_rel)


def module_name(
    relpath: str, root: Path, source_roots: Iterable[str] = ("src",)
) -> tuple[str, bool]:
    """The dotted module name of a file in the work tree, and whether it is a package `__init__`."""
    return module_name_in(
        relpath, lambda folder: (root / folder / "__init__.py").is_file(), source_roots
    )


def module_name_in(
    relpath: str, is_package_folder: Callable[[str], bool], source_roots: Iterable[str] = ("src",)
) -> tuple[str, bool]:
    """The dotted module name of a file, given which folders are packages.

    Package folders (with `__init__.py`) are walked upwards from the file; a file
    whose folder is not a package is a top-level module, unless it sits under a
    configured source root, where the path below the root gives the name (for
    namespace packages). `is_package_folder` takes a folder relative to the root,
    so the same rule serves the work tree and a commit's file list (history).
    """
    parts = list(PurePosixPath(relpath).parts)
    is_package = parts[-1] == "__init__.py"
    stem = parts[-1][:-3] if parts[-1].endswith(".py") else parts[-1]
    folders = parts[:-1]
    names: list[str] = []
    index = len(folders)
    while index > 0 and is_package_folder("/".join(folders[:index])):
        names.insert(0, folders[index - 1])
        index -= 1
    if not names:
        for source_root in sorted(source_roots, key=len, reverse=True):
            root_parts = [p for p in PurePosixPath(source_root).parts if p not in {".", ""}]
            if root_parts and folders[: len(root_parts)] == root_parts:
                names = folders[len(root_parts) :]
                break
    if is_package:
        return ".".join(names) or stem, True
    return ".".join([*names, stem]), False


def is_test_path(relpath: str, patterns: Sequence[str]) -> bool:
    """Whether a file is test code: a pattern ending in `/` names a folder anywhere in the path."""
    parts = PurePosixPath(relpath).parts
    name = parts[-1]
    for pattern in patterns:
        if pattern.endswith("/"):
            if pattern[:-1] in parts[:-1]:
                return True
        elif fnmatch.fnmatch(name, pattern) or fnmatch.fnmatch(relpath, pattern):
            return True
    return False
