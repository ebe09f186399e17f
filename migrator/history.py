"""`migrator report --history N`: the counts at each of the last N commits, read from git objects.

Nothing is checked out and the index is never touched: each commit's Python
files come from `git ls-tree`, their bytes from one `git cat-file --batch`
process. The analysis of a blob is kept in memory, keyed by the blob id (with
its path, module and the rule names it contains), so a blob that did not
change between two commits is neither read again nor parsed again: 50 commits
of a large repository cost one full analysis plus the files that changed.

Each commit goes through the same steps as a full run (`migrator.engine`):
the byte prefilter over the rule names, extraction of the candidates, linking
(iterated while new aliases are discovered), classification and suppressions,
so the last point equals `migrator audit` of a clean checkout of HEAD.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from migrator.classify import Classifier
from migrator.config import DEFAULT_EXCLUDES, Config
from migrator.discovery import is_test_path, module_name_in
from migrator.engine import apply_suppressions, names_pattern
from migrator.facts import FileFacts
from migrator.gitutil import Commit, GitError, TreeEntry, python_commits, python_tree, read_blobs
from migrator.reports.progress.model import Counts, HistoryPoint
from migrator.resolve import Linker
from migrator.rules import RuleSet

_PARALLEL_THRESHOLD = 12

__all__ = ["GitError", "History", "HistoryStats", "module_for", "read_history"]


@dataclass
class HistoryStats:
    """What the run cost: for tests and for `--verbose` readers."""

    commits: int = 0
    blobs_read: int = 0
    extractions: int = 0
    reused_points: int = 0


@dataclass(frozen=True)
class History:
    points: tuple[HistoryPoint, ...]
    stats: HistoryStats = field(compare=False)


@dataclass(frozen=True)
class _Scan:
    """Which of the names searched so far a blob mentions as whole words."""

    known: frozenset[str]
    words: frozenset[str]


_FactsKey = tuple[str, str, str, bool, frozenset[str]]


def module_for(
    relpath: str, packages: set[str], source_roots: Iterable[str] = ("src",)
) -> tuple[str, bool]:
    """`migrator.discovery.module_name`, with package folders taken from a commit's file list.

    `packages` holds the folders (relative to the root) that have an `__init__.py`.
    """
    return module_name_in(relpath, packages.__contains__, source_roots)


def _extract_blob(
    job: tuple[_FactsKey, bytes, frozenset[str]],
) -> tuple[_FactsKey, FileFacts | None, str | None]:
    """Worker: decode and extract one blob exactly as `migrator.engine` does a file.

    (key, None, None) means the blob mentions the names only in strings or comments.
    """
    from migrator.filestore import extract_source

    key, raw, imported_only = job
    _, relpath, module, is_package, names = key
    _, facts, error = extract_source((relpath, raw, module, is_package, names, imported_only))
    return key, facts, error


def _folder(relpath: str) -> str:
    parent = str(PurePosixPath(relpath).parent)
    return "" if parent == "." else parent


class _Analyser:
    def __init__(self, config: Config, rules: RuleSet, paths: Sequence[str]) -> None:
        from migrator.ignore import PatternSet

        self.config = config
        self.rules = rules
        self.root = config.root.resolve()
        self.paths = [p.strip("/") for p in paths]
        # The matcher discovery uses: linear in the input, however hostile the patterns.
        self.exclude = PatternSet([*DEFAULT_EXCLUDES, *config.exclude])
        self.scans: dict[str, _Scan] = {}
        self.facts: dict[_FactsKey, tuple[FileFacts | None, str | None]] = {}
        self.raw: dict[str, bytes] = {}
        self.stats = HistoryStats()

    # ------------------------------------------------------------------ blobs

    def _wanted(self, relpath: str) -> bool:
        from migrator.gitutil import under

        if not under(relpath, self.paths or [""]):
            return False
        return not self.exclude.match(relpath, False)

    def _scan(self, entries: Iterable[TreeEntry], names: frozenset[str]) -> None:
        """Make sure the prefilter knows, for every blob, which of `names` it mentions."""
        missing = sorted({e.oid for e in entries if not names <= self._known(e.oid)})
        if not missing:
            return
        pattern = names_pattern(names)
        for oid, raw in read_blobs(self.root, missing):
            self.stats.blobs_read += 1
            words = frozenset(m.decode("utf-8") for m in set(pattern.findall(raw)))
            self.scans[oid] = _Scan(names, words & names)
            if words:
                self.raw[oid] = raw

    def _known(self, oid: str) -> frozenset[str]:
        scan = self.scans.get(oid)
        return scan.known if scan is not None else frozenset()

    def _extract(
        self, jobs: list[tuple[_FactsKey, str]]
    ) -> dict[str, tuple[FileFacts | None, str | None]]:
        """Facts for each (key, oid), from the in-memory cache or by parsing."""
        out: dict[str, tuple[FileFacts | None, str | None]] = {}
        pending: list[tuple[_FactsKey, str]] = []
        for key, oid in jobs:
            if key in self.facts:
                out[key[1]] = self.facts[key]
            else:
                pending.append((key, oid))
        if not pending:
            return out
        unread = sorted({oid for _, oid in pending if oid not in self.raw})
        for oid, raw in read_blobs(self.root, unread):
            self.stats.blobs_read += 1
            self.raw[oid] = raw
        rule_names = self.rules.search_names()
        work = [(key, self.raw[oid], key[4] - rule_names) for key, oid in pending]
        workers = min(self.config.effective_jobs, max(1, len(work) // 4))
        results: Iterable[tuple[_FactsKey, FileFacts | None, str | None]]
        if len(work) < _PARALLEL_THRESHOLD or workers <= 1:
            results = map(_extract_blob, work)
            collected = list(results)
        else:
            with ProcessPoolExecutor(max_workers=workers) as pool:
                collected = list(pool.map(_extract_blob, work, chunksize=4))
        for key, facts, error in collected:
            self.stats.extractions += 1
            self.facts[key] = (facts, error)
            out[key[1]] = (facts, error)
        return out

    # ------------------------------------------------------------------ commits

    def point(
        self, commit: Commit, previous: tuple[object, HistoryPoint] | None
    ) -> tuple[object, HistoryPoint]:
        every = python_tree(self.root, commit.sha)
        packages = {
            _folder(e.relpath) for e in every if PurePosixPath(e.relpath).name == "__init__.py"
        }
        entries: dict[str, TreeEntry] = {}
        errors: dict[str, str] = {}
        for entry in every:
            if not self._wanted(entry.relpath):
                continue
            if entry.size > self.config.max_file_bytes:
                errors[entry.relpath] = "file over max_file_bytes; skipped"
                continue
            entries[entry.relpath] = entry

        names = self.rules.search_names()
        searched: frozenset[str] = frozenset()
        facts: dict[str, FileFacts] = {}
        facts_names: dict[str, frozenset[str]] = {}
        failed: dict[str, str] = {}
        linker = Linker(self.rules, [])
        while True:
            new_words = names - searched
            matched: dict[str, frozenset[str]] = {}
            if new_words:
                self._scan(entries.values(), names)
                for relpath, entry in entries.items():
                    if relpath in failed:
                        continue
                    words = self.scans[entry.oid].words
                    if relpath in facts_names or words & new_words:
                        present = words & names
                        if facts_names.get(relpath) != present:
                            matched[relpath] = present
            searched = names
            if not matched:
                break
            jobs: list[tuple[_FactsKey, str]] = []
            for relpath, present in sorted(matched.items()):
                module, is_package = module_for(relpath, packages, self.config.source_roots)
                oid = entries[relpath].oid
                jobs.append(((oid, relpath, module, is_package, present), oid))
            for relpath, (result, error) in self._extract(jobs).items():
                if error is not None:
                    failed[relpath] = error
                    facts.pop(relpath, None)
                elif result is not None:
                    facts[relpath] = result
                    facts_names[relpath] = matched[relpath]
                else:
                    facts.pop(relpath, None)
                    facts_names[relpath] = matched[relpath]
            linker = Linker(self.rules, facts.values())
            names = names | linker.discovered_names()
            if names == searched:
                break
        self.raw.clear()

        signature = (
            tuple(sorted((relpath, id(value)) for relpath, value in facts.items())),
            tuple(sorted(failed)),
            tuple(sorted(errors)),
        )
        if previous is not None and previous[0] == signature:
            self.stats.reused_points += 1
            counts_point = previous[1]
            return signature, HistoryPoint(
                commit.sha,
                commit.date,
                commit.subject,
                counts_point.counts,
                counts_point.suppressed,
                len(entries) + len(errors),
                counts_point.errors,
            )
        classifier = Classifier(
            linker,
            test_patterns=self.config.test_patterns,
            async_chain_depth=self.config.async_chain_depth,
        )
        findings = []
        for relpath in sorted(facts):
            findings.extend(
                classifier.findings(
                    facts[relpath], is_test_path(relpath, self.config.test_patterns)
                )
            )
        findings = apply_suppressions(findings, facts)
        point = HistoryPoint(
            commit=commit.sha,
            date=commit.date,
            subject=commit.subject,
            counts=Counts.of(findings),
            suppressed=sum(1 for f in findings if f.suppressed),
            files=len(entries) + len(errors),
            errors=len(failed) + len(errors),
        )
        return signature, point


def read_history(
    config: Config,
    rules: RuleSet,
    *,
    count: int | None = None,
    since: str | None = None,
    paths: Sequence[str] = (),
) -> History:
    """The counts at each commit that touched Python files (oldest first).

    `count` keeps the last N such commits; `since` those after a ref (plus the
    ref itself). `paths` are folders or files relative to the root.
    Raises GitError when the root is not in a git repository or a ref is unknown.
    """
    analyser = _Analyser(config, rules, paths)
    commits = python_commits(analyser.root, count=count, since=since, paths=paths)
    points: list[HistoryPoint] = []
    previous: tuple[object, HistoryPoint] | None = None
    for commit in commits:
        previous = analyser.point(commit, previous)
        points.append(previous[1])
    analyser.stats.commits = len(points)
    return History(tuple(points), analyser.stats)
