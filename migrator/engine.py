"""The audit engine: discover, prefilter, extract in parallel, link, classify.

The engine never prints and never raises for one bad file: a file that cannot be
read or parsed comes back as a `FileError` and the run goes on. Progress is
reported through an optional callback so the CLI can draw a bar.
"""

from __future__ import annotations

import itertools
import os
import re
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

from migrator.cache import IRRELEVANT_ENTRY, FactsCache, PrefilterIndex
from migrator.classify import Classifier
from migrator.config import Config
from migrator.discovery import SourceFile, discover, is_test_path, module_name
from migrator.facts import FileFacts
from migrator.model import AuditResult, FileError, Finding
from migrator.resolve import Linker
from migrator.rules import RuleSet
from migrator.source import SourceError, decode

#: Below this many files to parse, a process pool costs more than it saves.
_PARALLEL_THRESHOLD = 12
#: From this many files on, the pool is forked before the files are read.
_EARLY_POOL_FILES = 500

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class _Job:
    path: str
    relpath: str
    module: str
    is_package: bool
    names: frozenset[str]
    #: Names found by alias discovery (not written in a rule): a file can only reach
    #: them through an import or an attribute, never through a definition of its own.
    imported_only: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Analysis:
    """The linked facts of a run: what `fix` and `report` build on."""

    result: AuditResult
    facts: dict[str, FileFacts]
    linker: Linker
    classifier: Classifier


def names_pattern(names: Iterable[str]) -> re.Pattern[bytes]:
    words = sorted(
        {re.escape(name.encode("utf-8")) for name in names if name}, key=len, reverse=True
    )
    return re.compile(rb"(?<![A-Za-z0-9_])(?:" + b"|".join(words) + rb")(?![A-Za-z0-9_])")


class Prefilter:
    """Does a file's bytes mention one of `names` as a whole word?

    Three stages, cheapest first. A few shared substrings ("needles": every name
    contains one) are tested with `bytes in bytes`, a fast C search, which rejects
    the great majority of files in a handful of passes; then each name; only a file
    that contains a name as a substring is searched with the word-boundary pattern.
    Profiling showed the boundary regex, run over every file, cost more than
    everything else in a warm run.
    """

    def __init__(self, names: Iterable[str]) -> None:
        self.words = tuple(sorted({name.encode("utf-8") for name in names if name}))
        self.needles = _needles(self.words)
        self.pattern = names_pattern(w.decode("utf-8") for w in self.words) if self.words else None

    def __call__(self, raw: bytes) -> bool:
        if self.pattern is None:
            return False
        for needle in self.needles:
            if needle in raw:
                break
        else:
            return False
        for word in self.words:
            if word in raw:
                return self.pattern.search(raw) is not None
        return False


def _needles(words: Sequence[bytes], shortest: int = 8) -> tuple[bytes, ...]:
    """A small set of substrings such that every word contains one of them.

    Greedy set cover over the substrings of at least `shortest` bytes (a word
    shorter than that stands for itself); longer substrings win ties, since they
    occur in fewer unrelated files.
    """
    uncovered = set(words)
    chosen: list[bytes] = []
    while uncovered:
        counts: dict[bytes, int] = {}
        for word in uncovered:
            size = min(len(word), shortest)
            seen = {
                word[i : i + n]
                for n in range(size, len(word) + 1)
                for i in range(len(word) - n + 1)
            }
            for part in seen:
                counts[part] = counts.get(part, 0) + 1
        best = max(counts, key=lambda part: (counts[part], len(part), part))
        chosen.append(best)
        uncovered = {word for word in uncovered if best not in word}
    return tuple(chosen)


def _identifiers_mention(
    text: str, names: frozenset[str], imported_only: frozenset[str] = frozenset()
) -> bool:
    """Whether one of `names` is used as a Python identifier in `text` (by CPython's `ast`).

    LibCST extraction records only what an identifier written in the file leads to
    (a call's callee, an import, a base class, a name bound here; a string
    annotation resolves only through a name bound here or a star import). A file
    whose words match only inside strings or comments therefore yields no sites,
    and CPython's parser, written in C, says so at a fraction of LibCST's cost:
    profiling showed a 290 kB data module that lists "Dispatcher" as a job title
    taking longer to extract than all the real sites of the corpus together.
    Returns True (extract with LibCST) whenever `ast` cannot tell: a syntax error,
    newer syntax, too deep nesting, or a star import.

    A name in `imported_only` (an alias discovered in another module) counts only
    where it is imported or read as an attribute: a class of the same name defined
    and used in this file is a different object (twisted's IRC tests define their own
    `Dispatcher`, which made a 100 kB file the longest job of a cold run).
    """
    import ast
    import warnings

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return True
    local_names = names - imported_only
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            if node.attr in names:
                return True
            continue
        if isinstance(node, ast.alias):
            if node.name == "*":
                return True
            if not names.isdisjoint((*node.name.split("."), node.asname)):
                return True
            continue
        if isinstance(node, ast.Name):
            found: tuple[str | None, ...] = (node.id,)
        elif isinstance(node, ast.ImportFrom):
            found = tuple((node.module or "").split("."))
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            found = (node.name,)
        elif isinstance(node, (ast.arg, ast.keyword)):
            found = (node.arg,)
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            found = tuple(node.names)
        elif isinstance(node, (ast.MatchAs, ast.MatchStar)):
            found = (node.name,)
        else:
            continue
        if not local_names.isdisjoint(found):
            return True
    return False


#: What a worker returns for one file: (relpath, facts, error).
_JobResult = tuple[str, FileFacts | None, str | None]


def _extract_job(job: _Job) -> tuple[str, FileFacts | None, str | None]:
    """Worker: read, decode and extract one file. Returns (relpath, facts, error).

    (relpath, None, None) means the file mentions no name as an identifier.
    """
    from migrator.extract import ExtractionError, extract

    try:
        raw = Path(job.path).read_bytes()
        source = decode(raw)
        if not _identifiers_mention(source.text, job.names, job.imported_only):
            return job.relpath, None, None
        return (
            job.relpath,
            extract(source.text, job.relpath, job.module, job.is_package, job.names),
            None,
        )
    except (SourceError, ExtractionError) as error:
        return job.relpath, None, str(error)
    except OSError as error:
        return job.relpath, None, f"cannot read: {error.strerror}"
    except RecursionError:
        return job.relpath, None, "too deeply nested to analyse (recursion limit); skipped"
    except Exception as error:
        return (
            job.relpath,
            None,
            f"internal error while analysing ({type(error).__name__}: {error}); please report it",
        )


def analyse(
    config: Config,
    rules: RuleSet,
    paths: Sequence[str] | None = None,
    *,
    progress: Progress | None = None,
    only: Iterable[str] | None = None,
) -> Analysis:
    """Audit `paths` under `config.root`. `only` restricts reported files (e.g. changed files)."""
    root = config.root.resolve()
    discovery = discover(
        root,
        list(paths) if paths else list(config.paths),
        exclude=config.exclude,
        respect_gitignore=config.respect_gitignore,
        max_file_bytes=config.max_file_bytes,
    )
    errors: list[FileError] = list(discovery.errors)
    files = discovery.files
    cache = FactsCache(root / config.cache_dir) if config.cache else None

    # Read every file once; the bytes are searched for rule names, again after each
    # round of alias discovery, without touching the disk again. With the cache on, a
    # file whose stat signature is unchanged since a run found it mentions none of the
    # words is neither read nor searched (see PrefilterIndex).
    started_ns = time.time_ns()
    # A warm run (the prefilter index exists) rarely needs workers: no early pool.
    warm = cache is not None and (cache.directory / PrefilterIndex.NAME).is_file()
    pool = None if warm else _early_pool(config, len(files))
    try:
        return _analyse(
            config, rules, paths, root, files, errors, cache, started_ns, pool, progress, only
        )
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)


def _early_pool(config: Config, file_count: int) -> ProcessPoolExecutor | None:
    """A worker pool forked now, while this process holds no file contents.

    Forked later, each worker would start as a copy of a parent holding every
    file's bytes: the benchmark measured the process tree's memory growing with the
    corpus that way. One pool also serves every round of alias discovery.
    """
    if config.effective_jobs <= 1 or file_count < _EARLY_POOL_FILES:
        return None
    import multiprocessing

    fork = "fork" in multiprocessing.get_all_start_methods()
    # Each worker imports LibCST (about 0.16 s) as soon as it is forked, while this
    # process reads the tree, instead of when the first candidate reaches it.
    pool = ProcessPoolExecutor(
        max_workers=config.effective_jobs,
        mp_context=multiprocessing.get_context("fork") if fork else None,
        initializer=_import_extractor,
    )
    # Under fork, the first submission forks every worker before it returns; waiting
    # for its result would also wait for a worker's import.
    pool.submit(int)
    return pool


def _import_extractor() -> None:
    import migrator.extract  # noqa: F401


def _analyse(
    config: Config,
    rules: RuleSet,
    paths: Sequence[str] | None,
    root: Path,
    files: tuple[SourceFile, ...],
    errors: list[FileError],
    cache: FactsCache | None,
    started_ns: int,
    pool: ProcessPoolExecutor | None,
    progress: Progress | None,
    only: Iterable[str] | None,
) -> Analysis:
    index = PrefilterIndex.load(cache.directory) if cache is not None and cache.enabled else None
    rule_names = rules.search_names()
    contents: dict[str, bytes] = {}
    by_path: dict[str, SourceFile] = {}
    signatures: dict[str, list[int]] = {}
    known_clean: set[str] = set()
    # With a pool already forked, the first round's candidates go to the workers as
    # soon as their bytes are read, so extraction overlaps reading and searching the
    # rest of the tree (the first round's words are the pack's, known up front).
    early = _EarlyRound(rules, root, config, cache, pool) if pool is not None else None
    for position, source in enumerate(files):
        relpath = source.relpath
        try:
            if index is not None:
                signature = PrefilterIndex.signature(os.stat(source.path))
                signatures[relpath] = signature
                if index.clean(relpath, signature, rule_names):
                    by_path[relpath] = source
                    known_clean.add(relpath)
                    continue
            contents[relpath] = source.path.read_bytes()
            by_path[relpath] = source
            if early is not None:
                early.offer(source, contents[relpath])
        except OSError as error:
            errors.append(FileError(relpath, f"cannot read: {error.strerror or error}"))
        if progress is not None and position % 500 == 0:
            progress("read", position, len(files))

    names = rule_names
    facts: dict[str, FileFacts] = {}
    facts_names: dict[str, frozenset[str]] = {}
    failed: dict[str, str] = {}
    strings_only: set[str] = set()
    searched: frozenset[str] = frozenset()
    linker = Linker(rules, [])
    while True:
        new_words = names - searched
        prefilter = Prefilter(new_words) if new_words else None
        matched_any: dict[str, frozenset[str]] = {}
        if prefilter is not None:
            words = names_pattern(names)
            if known_clean and index is not None and not new_words <= index.words:
                # Words the index does not cover: read the files it let us skip.
                for relpath in sorted(known_clean):
                    try:
                        contents[relpath] = by_path[relpath].path.read_bytes()
                    except OSError as error:
                        failed[relpath] = f"cannot read: {error.strerror or error}"
                known_clean.clear()
            reuse = early is not None and names == early.rule_names
            for relpath, raw in contents.items():
                if relpath in failed:
                    continue
                if reuse and early is not None and relpath in early.seen:
                    seen_present = early.present.get(relpath)
                    if seen_present is not None and facts_names.get(relpath) != seen_present:
                        matched_any[relpath] = seen_present
                    continue
                if relpath in facts_names or prefilter(raw):
                    # The names the file mentions as whole words: extraction depends on
                    # nothing else, so a name found only inside a longer identifier
                    # (`Dispatcher` in `ToolDispatcher`) does not force a re-extraction.
                    present = frozenset(m.decode("utf-8") for m in set(words.findall(raw)))
                    if facts_names.get(relpath) != present:
                        matched_any[relpath] = present
        searched = names
        if not matched_any:
            break
        jobs: list[_Job] = []
        submitted = early.take(matched_any) if early is not None else {}
        early = None
        for relpath, present in sorted(matched_any.items()):
            if relpath in submitted:
                continue
            module, is_package = module_name(relpath, root, config.source_roots)
            jobs.append(
                _Job(
                    str(by_path[relpath].path),
                    relpath,
                    module,
                    is_package,
                    present,
                    present - rule_names,
                )
            )
        for relpath, extracted, problem in itertools.chain(
            _EarlyRound.results(submitted, cache),
            _run_jobs(jobs, contents, cache, rules.digest, config, progress, pool),
        ):
            if problem is not None:
                failed[relpath] = problem
                facts.pop(relpath, None)
            elif extracted is not None:
                facts[relpath] = extracted
                facts_names[relpath] = matched_any[relpath]
                strings_only.discard(relpath)
            else:
                # Mentions the names only in strings or comments: analysed, nothing found.
                facts.pop(relpath, None)
                facts_names[relpath] = matched_any[relpath]
                strings_only.add(relpath)
        linker = Linker(rules, facts.values())
        names = names | linker.discovered_names()
        if names == searched:
            break

    for relpath, message in sorted(failed.items()):
        errors.append(FileError(relpath, message))
    classifier = Classifier(
        linker, test_patterns=config.test_patterns, async_chain_depth=config.async_chain_depth
    )
    callers = _CallerSearch(classifier, rules, facts, contents, by_path, index, cache, root, config)
    anchor_words = callers.run()
    if callers.facts:
        # Name resolution now also knows the callers' imports and re-exports.
        linker = callers.linker
        classifier = Classifier(
            linker, test_patterns=config.test_patterns, async_chain_depth=config.async_chain_depth
        )
    classifier.chain_truncated = callers.truncated
    if index is not None:
        index.save(
            names | anchor_words,
            {
                relpath: signature
                for relpath, signature in signatures.items()
                if relpath not in facts_names
                and relpath not in failed
                and relpath in by_path
                and relpath not in callers.anchored
            },
            started_ns,
        )
    wanted = set(only) if only is not None else None
    findings: list[Finding] = []
    for relpath in sorted(facts):
        if wanted is not None and relpath not in wanted:
            continue
        findings.extend(
            classifier.findings(facts[relpath], is_test_path(relpath, config.test_patterns))
        )
    findings = apply_suppressions(findings, facts)
    if cache is not None and wanted is None and _covers_root(paths, root):
        cache.prune()
    result = AuditResult(
        root=str(root),
        files_scanned=len(files),
        files_analysed=len(facts) + len(failed) + len(strings_only - failed.keys()),
        findings=tuple(findings),
        errors=tuple(sorted(errors, key=lambda e: e.path)),
        aliases=linker.alias_notes(),
        rule_packs=tuple(pack.id for pack in rules.packs),
        cache_hits=cache.hits if cache is not None else 0,
        warnings=tuple(linker.warnings),
    )
    # Expired, malformed and unused suppressions are warnings of every run, not only the CLI's.
    from migrator.suppress import with_suppression_review

    scope = None if wanted is None else wanted.__contains__
    result = with_suppression_review(result, facts, scope)
    return Analysis(result=result, facts=facts, linker=linker, classifier=classifier)


def _covers_root(paths: Sequence[str] | None, root: Path) -> bool:
    """Whether a run looked at the whole tree (only then may it prune the cache)."""
    if not paths:
        return True
    for given in paths:
        path = Path(given)
        try:
            if (path if path.is_absolute() else Path.cwd() / path).resolve() == root:
                return True
        except OSError:
            continue
    return False


#: Parsing callers is for a message: past this many files the search stops, and
#: the plans say the chain may be longer.
_MAX_CALLER_FILES = 400


class _CallerSearch:
    """Find the callers, anywhere in the tree, of functions whose sites are `not-async`.

    Such a site can only be rewritten once its function, and the sync functions that
    call it, become async: the plan names that chain. Callers need not mention any
    rule name, so they are found by searching the bytes for the functions' names,
    round by round up to `async_chain_depth`, and parsed for their call graph only.
    The words searched join the prefilter index, so a warm run reads no more files
    than before unless the set of such functions changed.
    """

    def __init__(
        self,
        classifier: Classifier,
        rules: RuleSet,
        candidates: dict[str, FileFacts],
        contents: dict[str, bytes],
        by_path: dict[str, SourceFile],
        index: PrefilterIndex | None,
        cache: FactsCache | None,
        root: Path,
        config: Config,
    ) -> None:
        self.classifier = classifier
        self.rules = rules
        #: Linker over the candidates and the caller files found so far.
        self.linker = classifier.linker
        self.candidates = candidates
        self.contents = contents
        self.by_path = by_path
        self.index = index
        self.cache = cache
        self.digest = f"{rules.digest}/callers"
        self.root = root
        self.config = config
        self.facts: dict[str, FileFacts] = {}
        self.matched: set[str] = set()
        #: Files naming any anchor word: never indexed as clean of the anchors.
        self.anchored: set[str] = set()
        #: The search stopped at _MAX_CALLER_FILES; chains may be incomplete.
        self.truncated = False

    def run(self) -> frozenset[str]:
        frontier = self._not_async_functions()
        searched: set[tuple[str, str]] = set()
        for _ in range(self.config.async_chain_depth):
            # A re-export found by one search gives new pairs for the same functions.
            while pairs := self._pairs(frontier) - searched:
                self._search(pairs)
                searched |= pairs
            frontier = self._sync_callers_of(frontier)
            if not frontier:
                break
        if self.truncated:
            return frozenset()  # files past the cap were never looked at
        # Only anchors join the prefilter index: every file holding one is kept out
        # of its clean set (`anchored`), and a caller must hold its anchor, so a file
        # indexed as clean can be skipped by any later search for these pairs.
        return frozenset(anchor for _, anchor in searched)

    def _pairs(self, functions: set[str]) -> set[tuple[str, str]]:
        """(name, anchor) word pairs a caller of `functions` must both contain.

        A caller reaches a module function through its module (or a re-export of
        it) and a method through its class, so the bare name alone, often a common
        word like `run`, is never enough to make a file worth parsing.
        """
        linker = self.linker
        pairs: set[tuple[str, str]] = set()
        for function in functions:
            name = function.rpartition(".")[2]
            targets = {function}
            # Names bound to the function elsewhere (re-exports) reach it too.
            targets |= {alias for alias in linker.symbols if linker.canonical(alias)[0] == function}
            for target in targets:
                target_owner, _, target_name = target.rpartition(".")
                anchor = target_owner.rsplit(".", 1)[-1]
                # A function is reached through its module or class, __init__ by
                # constructing the class (whose name is then both words).
                pairs.add((anchor, anchor) if name == "__init__" else (target_name, anchor))
        return pairs

    def _not_async_functions(self) -> set[str]:
        functions: set[str] = set()
        for facts in self.candidates.values():
            # Only a site inside a sync function can be not-async: skip classifying the rest.
            if not any(c.function >= 0 and not c.scope.is_async for c in facts.calls):
                continue
            for finding in self.classifier.findings(facts, test_code=False):
                plan = finding.fix
                if plan is not None and plan.reason == "not-async" and finding.scope.function:
                    functions.add(f"{facts.module}.{finding.scope.function}")
        return functions

    def _search(self, pairs: set[tuple[str, str]]) -> None:
        before = len(self.facts)
        self._scan(pairs)
        if len(self.facts) != before:
            self.linker = Linker(self.rules, [*self.candidates.values(), *self.facts.values()])

    def _scan(self, pairs: set[tuple[str, str]]) -> None:
        words = frozenset(word for pair in pairs for word in pair)
        # Cheap screen first: a caller must name the anchor (a module or class name,
        # usually rare), so substring needles of the anchors reject almost every file
        # before the word regex, which is slow over a whole tree, runs.
        anchors = frozenset(anchor for _, anchor in pairs)
        screen = Prefilter(anchors)
        pattern = names_pattern(words)
        for relpath, source in self.by_path.items():
            if relpath in self.candidates or relpath in self.facts:
                continue
            if len(self.matched) >= _MAX_CALLER_FILES:
                self.truncated = True
                return
            raw = self.contents.get(relpath)
            if raw is None:
                if self.index is not None and anchors <= self.index.words:
                    continue  # indexed as naming none of these anchors, and unchanged
                try:
                    raw = source.path.read_bytes()
                except OSError:
                    continue
            if not screen(raw):
                continue
            found = {m.decode("utf-8") for m in pattern.findall(raw)}
            if found & anchors:
                self.anchored.add(relpath)
            if not any(name in found and anchor in found for name, anchor in pairs):
                continue
            self.matched.add(relpath)
            facts = self._extract(relpath, raw)
            if facts is not None:
                self.facts[relpath] = facts

    def _extract(self, relpath: str, raw: bytes) -> FileFacts | None:
        from migrator.extract import ExtractionError, extract

        module, is_package = module_name(relpath, self.root, self.config.source_roots)
        key = None
        if self.cache is not None:
            key = FactsCache.key(raw, relpath, self.digest, frozenset(), module, is_package)
            cached = self.cache.lookup(key)
            if isinstance(cached, FileFacts):
                return cached
        try:
            # No rule names: only the functions and the calls they make are recorded.
            facts = extract(decode(raw).text, relpath, module, is_package, frozenset())
        except (SourceError, ExtractionError, RecursionError):
            return None  # not a candidate: its problems are reported when it becomes one
        if self.cache is not None and key is not None:
            self.cache.put(key, facts)
        return facts

    def _sync_callers_of(self, functions: set[str]) -> set[str]:
        callers: set[str] = set()
        linker = self.linker
        # Constructing a class calls its __init__.
        wanted = functions | {
            f.removesuffix(".__init__") for f in functions if f.endswith(".__init__")
        }
        for facts in [*self.candidates.values(), *self.facts.values()]:
            for function in facts.functions:
                if function.is_async:
                    continue
                if any(linker.canonical(callee)[0] in wanted for callee in function.calls):
                    callers.add(function.qualname)
        return callers - functions


class _EarlyRound:
    """First-round extractions submitted while the tree is still being read."""

    def __init__(
        self,
        rules: RuleSet,
        root: Path,
        config: Config,
        cache: FactsCache | None,
        pool: ProcessPoolExecutor,
    ) -> None:
        self.rule_names = rules.search_names()
        self.prefilter = Prefilter(self.rule_names)
        self.words = names_pattern(self.rule_names)
        self.digest = rules.digest
        self.root = root
        self.config = config
        self.cache = cache
        self.pool = pool
        self.submitted: dict[str, tuple[frozenset[str], str | None, Future[_JobResult]]] = {}
        #: Every file that passed the first round's prefilter, with the names it mentions:
        #: the first round reuses these verdicts instead of searching the bytes again.
        self.present: dict[str, frozenset[str]] = {}
        self.seen: set[str] = set()

    def offer(self, source: SourceFile, raw: bytes) -> None:
        self.seen.add(source.relpath)
        if not self.prefilter(raw):
            return
        present = frozenset(m.decode("utf-8") for m in set(self.words.findall(raw)))
        self.present[source.relpath] = present
        module, is_package = module_name(source.relpath, self.root, self.config.source_roots)
        key = (
            FactsCache.key(raw, source.relpath, self.digest, present, module, is_package)
            if self.cache is not None
            else None
        )
        if self.cache is not None and key is not None and self.cache.has(key):
            return  # the ordinary round reads it from the cache
        job = _Job(str(source.path), source.relpath, module, is_package, present, frozenset())
        self.submitted[source.relpath] = (present, key, self.pool.submit(_extract_job, job))

    def take(
        self, matched: dict[str, frozenset[str]]
    ) -> dict[str, tuple[str | None, Future[_JobResult]]]:
        """The submissions the first round still wants (same names), by path."""
        kept: dict[str, tuple[str | None, Future[_JobResult]]] = {}
        for relpath, (present, key, future) in self.submitted.items():
            if matched.get(relpath) == present:
                kept[relpath] = (key, future)
            else:
                future.cancel()
        return kept

    @staticmethod
    def results(
        submitted: dict[str, tuple[str | None, Future[_JobResult]]], cache: FactsCache | None
    ) -> Iterator[_JobResult]:
        for relpath in sorted(submitted):
            key, future = submitted[relpath]
            result = future.result()
            _, facts, error = result
            if cache is not None and key is not None and error is None:
                cache.put(key, facts if facts is not None else IRRELEVANT_ENTRY)
            yield result


def _run_jobs(
    jobs: list[_Job],
    contents: dict[str, bytes],
    cache: FactsCache | None,
    rules_digest: str,
    config: Config,
    progress: Progress | None,
    pool: ProcessPoolExecutor | None = None,
) -> Iterable[tuple[str, FileFacts | None, str | None]]:
    pending: list[tuple[_Job, str | None]] = []
    for job in jobs:
        key = (
            FactsCache.key(
                contents[job.relpath],
                job.relpath,
                rules_digest,
                job.names,
                job.module,
                job.is_package,
            )
            if cache
            else None
        )
        cached = cache.lookup(key) if cache is not None and key is not None else None
        if cached is not None:
            yield job.relpath, (cached if isinstance(cached, FileFacts) else None), None
        else:
            pending.append((job, key))
    total = len(pending)
    workers = min(config.effective_jobs, max(1, total // 4))
    if total < _PARALLEL_THRESHOLD or workers <= 1 or (pool is None and config.effective_jobs <= 1):
        results: Iterable[tuple[str, FileFacts | None, str | None]] = map(
            _extract_job, (job for job, _ in pending)
        )
        yield from _store(results, pending, cache, progress, total)
        return
    chunk = max(1, min(16, total // (workers * 4)))
    if pool is not None:
        yield from _store(
            pool.map(_extract_job, [job for job, _ in pending], chunksize=chunk),
            pending,
            cache,
            progress,
            total,
        )
        return
    with ProcessPoolExecutor(max_workers=workers) as own_pool:
        yield from _store(
            own_pool.map(_extract_job, [job for job, _ in pending], chunksize=chunk),
            pending,
            cache,
            progress,
            total,
        )


def _store(
    results: Iterable[tuple[str, FileFacts | None, str | None]],
    pending: list[tuple[_Job, str | None]],
    cache: FactsCache | None,
    progress: Progress | None,
    total: int,
) -> Iterable[tuple[str, FileFacts | None, str | None]]:
    keys = {job.relpath: key for job, key in pending}
    for done, (relpath, facts, error) in enumerate(results, start=1):
        key = keys.get(relpath)
        if cache is not None and key is not None and error is None:
            cache.put(key, facts if facts is not None else IRRELEVANT_ENTRY)
        if progress is not None:
            progress("analyse", done, total)
        yield relpath, facts, error


def apply_suppressions(findings: list[Finding], facts: dict[str, FileFacts]) -> list[Finding]:
    """Mark findings suppressed by a `# migrator: ignore[...]` comment on their line."""
    from migrator.suppress import parse_suppression

    out: list[Finding] = []
    for finding in findings:
        file_facts = facts.get(finding.path)
        comment = None
        if file_facts is not None:
            comment = dict(file_facts.suppressions).get(finding.span.line)
        if comment is not None:
            suppression = parse_suppression(comment)
            if suppression.matches(finding):
                finding = replace(finding, suppressed=True, suppression_reason=suppression.reason)
        out.append(finding)
    return out
