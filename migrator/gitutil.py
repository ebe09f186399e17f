"""Read-only git helpers: changed files, commit lists, trees and blobs.

Nothing here changes the repository: no checkout, no index update (every
command runs with `GIT_OPTIONAL_LOCKS=0`, so not even the stat refresh that
`git diff` would otherwise write), no fetch. Paths come back relative to the
migrator root with `/` separators.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path


class GitError(Exception):
    """git is missing, the folder is not a repository, or a ref does not exist."""


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["GIT_OPTIONAL_LOCKS"] = "0"
    env["GIT_TERMINAL_PROMPT"] = "0"
    env.pop("GIT_DIR", None)
    env.pop("GIT_WORK_TREE", None)
    env.pop("GIT_INDEX_FILE", None)
    return env


def _git_binary() -> str:
    binary = shutil.which("git")
    if binary is None:
        raise GitError("git is not installed or not on PATH")
    return binary


def run_git(root: Path, *args: str, input: bytes | None = None) -> bytes:
    """Run `git -C root args...` and return its standard output; GitError on failure."""
    command = [_git_binary(), "-C", str(root), "-c", "core.quotepath=off", *args]
    try:
        completed = subprocess.run(
            command, input=input, capture_output=True, env=_env(), check=False
        )
    except OSError as error:
        raise GitError(f"cannot run git: {error.strerror or error}") from None
    if completed.returncode != 0:
        message = completed.stderr.decode("utf-8", "replace").strip().splitlines()
        detail = message[-1] if message else f"exit code {completed.returncode}"
        raise GitError(f"git {args[0]} failed: {detail}")
    return completed.stdout


def toplevel(root: Path) -> Path:
    """The top folder of the work tree that contains `root`."""
    try:
        out = run_git(root, "rev-parse", "--show-toplevel")
    except GitError:
        raise GitError(f"{root} is not inside a git work tree") from None
    return Path(out.decode("utf-8").strip()).resolve()


def resolve_commit(root: Path, ref: str) -> str:
    """The full commit id of `ref`; GitError with a clear message when there is none."""
    if not ref or ref.startswith("-"):
        raise GitError(f"{ref!r} is not a git ref")
    try:
        out = run_git(
            root, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}"
        )
    except GitError:
        raise GitError(
            f"unknown git ref {ref!r} (in a shallow CI clone, fetch it first: "
            f"`git fetch --depth=1 origin {ref}`)"
        ) from None
    return out.decode("ascii").strip()


def _relative(paths: Iterable[str], top: Path, root: Path) -> set[str]:
    """Paths relative to the git top folder, re-expressed relative to `root` (others dropped)."""
    prefix = root.resolve().relative_to(top).as_posix() if root.resolve() != top else ""
    out: set[str] = set()
    for path in paths:
        if not path:
            continue
        if not prefix:
            out.add(path)
        elif path.startswith(prefix + "/"):
            out.add(path[len(prefix) + 1 :])
    return out


def changed_files(root: Path, ref: str) -> set[str]:
    """Files changed since `ref`: committed, staged, unstaged and untracked, relative to `root`.

    "Since" means since the point where the current branch left `ref` (their
    merge base), as a pull request sees it; when there is no merge base, `ref`
    itself.
    """
    top = toplevel(root)
    commit = resolve_commit(root, ref)
    try:
        base = run_git(root, "merge-base", commit, "HEAD").decode("ascii").strip() or commit
    except GitError:
        base = commit
    diff = run_git(root, "diff", "--name-only", "-z", "--no-renames", base, "--")
    untracked = run_git(root, "ls-files", "-z", "--others", "--exclude-standard", "--full-name")
    names = [p for p in diff.decode("utf-8", "surrogateescape").split("\0") if p]
    names += [p for p in untracked.decode("utf-8", "surrogateescape").split("\0") if p]
    return _relative(names, top, root)


@dataclass(frozen=True)
class Commit:
    sha: str
    date: str
    subject: str

    @property
    def short(self) -> str:
        return self.sha[:10]


def python_commits(
    root: Path, *, count: int | None = None, since: str | None = None, paths: Sequence[str] = ()
) -> list[Commit]:
    """Commits of HEAD's first-parent line that touched Python files, oldest first.

    `count` keeps the last N of them; `since` keeps those after `since` and adds
    `since` itself as the starting point. `paths` (relative to `root`) narrows
    which Python files count.
    """
    top = toplevel(root)
    prefix = root.resolve().relative_to(top).as_posix() if root.resolve() != top else ""
    specs: list[str] = []
    for path in paths or (".",):
        folder = "/".join(p for p in (prefix, path.strip("/")) if p and p != ".")
        if folder.endswith(".py"):
            specs.append(f":(top){folder}")
        elif folder:
            specs.append(f":(top){folder}/*.py")
        else:
            specs.append(":(top)*.py")
    args = ["log", "--first-parent", "--format=%H%x00%cI%x00%s", "-z"]
    if count is not None:
        args.append(f"--max-count={count}")
    if since is not None:
        start = resolve_commit(root, since)
        args.append(f"{start}..HEAD")
    else:
        start = None
        args.append("HEAD")
    try:
        out = run_git(root, *args, "--", *specs)
    except GitError as error:
        if "does not have any commits" in str(error) or "unknown revision" in str(error):
            raise GitError("the repository has no commits yet") from None
        raise
    commits = _parse_log(out)
    if start is not None and all(c.sha != start for c in commits):
        head = _parse_log(run_git(root, "log", "-1", "--format=%H%x00%cI%x00%s", "-z", start))
        commits.extend(head)
    commits.reverse()
    return commits


def _parse_log(out: bytes) -> list[Commit]:
    fields = out.decode("utf-8", "replace").split("\0")
    commits: list[Commit] = []
    index = 0
    while index + 2 < len(fields):
        sha = fields[index].strip()
        if sha:
            commits.append(Commit(sha, fields[index + 1], fields[index + 2]))
        index += 3
    return commits


@dataclass(frozen=True)
class TreeEntry:
    relpath: str
    oid: str
    size: int


def python_tree(root: Path, commit: str) -> list[TreeEntry]:
    """The regular `.py` files of `commit` under `root` (symlinks and submodules skipped)."""
    top = toplevel(root)
    prefix = root.resolve().relative_to(top).as_posix() if root.resolve() != top else ""
    out = run_git(root, "ls-tree", "-r", "-z", "-l", "--full-tree", commit)
    entries: list[TreeEntry] = []
    for record in out.decode("utf-8", "surrogateescape").split("\0"):
        if not record:
            continue
        meta, _, path = record.partition("\t")
        fields = meta.split()
        if len(fields) != 4:
            continue
        mode, kind, oid, size = fields
        if kind != "blob" or mode not in ("100644", "100755") or not path.endswith(".py"):
            continue
        if prefix:
            if not path.startswith(prefix + "/"):
                continue
            path = path[len(prefix) + 1 :]
        entries.append(TreeEntry(path, oid, int(size) if size.isdigit() else 0))
    return entries


def read_blobs(root: Path, oids: Sequence[str]) -> Iterator[tuple[str, bytes]]:
    """Stream the contents of blobs with one `git cat-file --batch` process."""
    if not oids:
        return
    command = [_git_binary(), "-C", str(root), "cat-file", "--batch"]
    try:
        process = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=_env(),
        )
    except OSError as error:
        raise GitError(f"cannot run git: {error.strerror or error}") from None
    assert process.stdin is not None and process.stdout is not None
    stdin, stdout = process.stdin, process.stdout

    def feed() -> None:
        try:
            for oid in oids:
                stdin.write(oid.encode("ascii") + b"\n")
            stdin.close()
        except (BrokenPipeError, OSError):
            pass

    writer = threading.Thread(target=feed, daemon=True)
    writer.start()
    try:
        for oid in oids:
            header = stdout.readline()
            parts = header.split()
            if len(parts) == 2 and parts[1] == b"missing":
                raise GitError(f"git object {oid} is missing")
            if len(parts) != 3:
                raise GitError(f"unexpected output from git cat-file: {header[:80]!r}")
            size = int(parts[2])
            data = stdout.read(size)
            stdout.read(1)
            yield parts[0].decode("ascii"), data
    finally:
        writer.join(timeout=5)
        stdout.close()
        process.wait()


def read_at(root: Path, commit: str, relpath: str) -> bytes | None:
    """The bytes of `relpath` (relative to `root`) in `commit`, or None when it has no such file."""
    top = toplevel(root)
    prefix = root.resolve().relative_to(top).as_posix() if root.resolve() != top else ""
    name = f"{commit}:{prefix}/{relpath}" if prefix else f"{commit}:{relpath}"
    try:
        kind = run_git(root, "cat-file", "-t", name)
    except GitError:
        return None
    if kind.strip() != b"blob":
        return None
    return run_git(root, "cat-file", "blob", name)


def under(path: str, folders: Sequence[str]) -> bool:
    """Whether `path` is one of `folders` (files) or lies below one; "" or "." is everything."""
    for folder in folders:
        folder = folder.strip("/")
        if folder in ("", "."):
            return True
        if path == folder or path.startswith(folder + "/"):
            return True
    return False
