"""The audit engine: discover, prefilter, extract in parallel, link, classify.

The engine never prints and never raises for one bad file: a file that cannot be
read or parsed comes back as a `FileError` and the run goes on. Progress is
reported through an optional callback so the CLI can draw a bar. The bytes of the
files, and the searching and extraction done on them, live in a store
(`migrator.filestore`): in this process, or split across worker processes on a
cold run over a large tree.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from migrator.cache import FactsCache, PrefilterIndex
from migrator.classify import Classifier, context_argument
from migrator.config import Config
from migrator.discovery import SourceFile, discover, is_test_path
from migrator.facts import CallFacts, CallForm, FileFacts
from migrator.filestore import Meter, Store, WorkerStores, names_pattern, worker_count
from migrator.model import AuditResult, FileError, Finding, ScopeLevel
from migrator.resolve import Linker, Match, TargetKind
from migrator.rules import CallTarget, RuleSet

__all__ = [
    "Analysis",
    "Progress",
    "analyse",
    "apply_suppressions",
    "names_pattern",
    "search_roots",
]

#: From this many files on, a cold run splits them across worker processes.
_WORKER_STORE_FILES = 500

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class Analysis:
    """The linked facts of a run: what `fix` and `report` build on."""

    result: AuditResult
    facts: dict[str, FileFacts]
    linker: Linker
    classifier: Classifier


def analyse(
    config: Config,
    rules: RuleSet,
    paths: Sequence[str] | None = None,
    *,
    progress: Progress | None = None,
    only: Iterable[str] | None = None,
    shard: tuple[int, int] | None = None,
) -> Analysis:
    """Audit `paths` under `config.root`.

    `only` (e.g. the changed files) and `shard` (I, N: the files of shard I of N,
    see `migrator.sharding`) restrict the files reported on; the other files are
    still linked, so names resolve as in a full run.
    """
    root = config.root.resolve()
    cache = FactsCache(root / config.cache_dir, root) if config.cache else None
    meter = Meter(progress)
    # A warm run (the prefilter index exists) reads few files and parses fewer: its
    # bytes stay here. A cold run over a large tree forks its workers as soon as
    # discovery has found enough files, so that their imports overlap the
    # rest of the walk, and before anything is read, so that none starts as a copy
    # of a parent holding the tree.
    warm = cache is not None and (cache.directory / PrefilterIndex.NAME).is_file()
    forked: list[WorkerStores | None] = []

    def on_found(count: int) -> None:
        workers = worker_count(config, count, _WORKER_STORE_FILES)
        if workers and not warm and not forked:
            try:
                forked.append(WorkerStores(workers, root, config, rules.digest, cache, meter))
            except OSError:
                forked.append(None)  # cannot fork (process limits): keep the bytes here

    with _terminate_as_exit():
        return _run(config, rules, paths, root, cache, meter, forked, on_found, only, shard)


@contextmanager
def _terminate_as_exit() -> Iterator[None]:
    """Turn SIGTERM into SystemExit(143) while the engine runs, if nobody handles it.

    Killed by the signal's default action, the process would leave its busy
    workers running until their share is done; as an exception, it stops them.
    """
    import signal
    import threading

    def stop(signum: int, _frame: object) -> None:
        raise SystemExit(128 + signum)

    installed = False
    if (
        threading.current_thread() is threading.main_thread()
        and signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
    ):
        signal.signal(signal.SIGTERM, stop)
        installed = True
    try:
        yield
    finally:
        if installed:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _run(
    config: Config,
    rules: RuleSet,
    paths: Sequence[str] | None,
    root: Path,
    cache: FactsCache | None,
    meter: Meter,
    forked: list[WorkerStores | None],
    on_found: Callable[[int], None],
    only: Iterable[str] | None,
    shard: tuple[int, int] | None,
) -> Analysis:
    try:
        discovery = discover(
            root,
            list(paths) if paths else list(config.paths),
            exclude=config.exclude,
            respect_gitignore=config.respect_gitignore,
            max_file_bytes=config.max_file_bytes,
            on_found=on_found,
        )
        store: Store | WorkerStores
        if forked and forked[0] is not None:
            store = forked[0]
        else:
            store = Store(root, config, rules.digest, cache, parallel=True)
            store.tick = meter.advance
        if shard is not None:
            from migrator.sharding import in_shard

            wanted = set(only) if only is not None else None
            only = {
                source.relpath
                for source in discovery.files
                if in_shard(source.relpath, *shard) and (wanted is None or source.relpath in wanted)
            }
        analysis = _analyse(
            config,
            rules,
            paths,
            root,
            discovery.files,
            list(discovery.errors),
            cache,
            time.time_ns(),
            store,
            meter,
            only,
        )
    except BaseException:
        # Abandoned (an error, Ctrl-C): a busy worker would finish its share first.
        for workers in forked:
            if workers is not None:
                workers.close(abort=True)
        raise
    for workers in forked:
        if workers is not None:
            workers.close()
    return analysis


def _analyse(
    config: Config,
    rules: RuleSet,
    paths: Sequence[str] | None,
    root: Path,
    files: tuple[SourceFile, ...],
    errors: list[FileError],
    cache: FactsCache | None,
    started_ns: int,
    store: Store | WorkerStores,
    meter: Meter,
    only: Iterable[str] | None,
) -> Analysis:
    index = (
        PrefilterIndex.load(cache.directory, cache.secret)
        if cache is not None and cache.enabled
        else None
    )
    rule_names = rules.search_names()
    by_path: dict[str, SourceFile] = {source.relpath: source for source in files}
    signatures: dict[str, list[int]] = {}
    known_clean: set[str] = set()
    # With the cache on, a file whose stat signature is unchanged since a run found
    # it mentions none of the words is neither read nor searched (PrefilterIndex).
    # On a cold run the index is empty: the signatures are taken at the end.
    if index is not None and index.entries:
        signatures = _signatures(by_path, errors)
        known_clean = {
            relpath
            for relpath, signature in signatures.items()
            if index.clean(relpath, signature, rule_names)
        }
    store.own(list(by_path.values()))
    # Every file is read once; the bytes are searched for rule names, again after
    # each round of alias discovery, without touching the disk again.
    to_read = [relpath for relpath in by_path if relpath not in known_clean]
    meter.start("read", len(to_read))
    read_errors, read_signatures = store.read(to_read)
    for relpath, message in read_errors:
        errors.append(FileError(relpath, message))
        del by_path[relpath]
    if index is not None and not index.entries:
        # A cold run: each file's signature was taken from the very handle it was read by.
        signatures = read_signatures

    # Files outside `only` are extracted and linked, not reported.
    focus = frozenset(only) if only is not None else None
    names = rule_names
    facts: dict[str, FileFacts] = {}
    facts_names: dict[str, frozenset[str]] = {}
    failed: dict[str, str] = {}
    strings_only: set[str] = set()
    searched: frozenset[str] = frozenset()
    linker = Linker(rules, [])
    while True:
        new_words = names - searched
        matched: dict[str, frozenset[str]] = {}
        if new_words:
            if known_clean and index is not None and not new_words <= index.words:
                # Words the index does not cover: read the files it let us skip.
                for relpath, message in store.read(sorted(known_clean))[0]:
                    failed[relpath] = message
                known_clean.clear()
            matched = store.search(new_words, names, facts_names, frozenset(failed))
        searched = names
        if not matched:
            break
        meter.start("analyse", len(matched))
        for relpath, extracted, problem in store.extract(matched, rule_names):
            if problem is not None:
                failed[relpath] = problem
                facts.pop(relpath, None)
            elif extracted is not None:
                facts[relpath] = extracted
                facts_names[relpath] = matched[relpath]
                strings_only.discard(relpath)
            else:
                # Mentions the names only in strings or comments: analysed, nothing found.
                facts.pop(relpath, None)
                facts_names[relpath] = matched[relpath]
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
    callers = _CallerSearch(classifier, rules, facts, store, files, index, config)
    anchor_words = callers.run()
    if callers.facts:
        # Name resolution now also knows the callers' imports and re-exports.
        linker = callers.linker
        classifier = Classifier(
            linker, test_patterns=config.test_patterns, async_chain_depth=config.async_chain_depth
        )
    classifier.chain_truncated = callers.truncated
    if index is not None:
        clean = [
            relpath
            for relpath in by_path
            if relpath not in facts_names
            and relpath not in failed
            and relpath not in callers.anchored
        ]
        index.save(
            names | anchor_words,
            {relpath: signatures[relpath] for relpath in clean if relpath in signatures},
            started_ns,
        )
    findings: list[Finding] = []
    for relpath in sorted(facts):
        if focus is not None and relpath not in focus:
            continue
        findings.extend(
            classifier.findings(facts[relpath], is_test_path(relpath, config.test_patterns))
        )
    findings = apply_suppressions(findings, facts)
    if cache is not None and focus is None and covers_root(paths, root):
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
        warnings=(
            *linker.warnings,
            *_pack_warnings(rules, linker, files, root, config),
            *(cache.refused for cache in [cache] if cache is not None and cache.refused),
        ),
    )
    # Expired, malformed and unused suppressions are warnings of every run, not only the CLI's.
    from migrator.suppress import with_suppression_review

    scope = None if focus is None else focus.__contains__
    result = with_suppression_review(result, facts, scope)
    return Analysis(result=result, facts=facts, linker=linker, classifier=classifier)


def _pack_warnings(
    rules: RuleSet, linker: Linker, files: Sequence[SourceFile], root: Path, config: Config
) -> list[str]:
    """What the packs name that the tree (or the environment) does not have (migrator.packcheck)."""
    from migrator.discovery import module_name_in
    from migrator.packcheck import pack_warnings

    folders = {
        source.relpath.rsplit("/", 1)[0]
        for source in files
        if source.relpath.endswith("/__init__.py")
    }
    modules = {
        module_name_in(source.relpath, folders.__contains__, config.source_roots)[0]
        for source in files
    }
    return pack_warnings(rules, linker, modules)


def _signatures(sources: dict[str, SourceFile], errors: list[FileError]) -> dict[str, list[int]]:
    """Stat signatures for the prefilter index; a file that cannot be stat'ed is an error."""
    signatures: dict[str, list[int]] = {}
    for relpath, source in list(sources.items()):
        try:
            signatures[relpath] = PrefilterIndex.signature(os.stat(source.location))
        except OSError as error:
            errors.append(FileError(relpath, f"cannot read: {error.strerror or error}"))
            del sources[relpath]
    return signatures


def covers_root(paths: Sequence[str] | None, root: Path) -> bool:
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
        store: Store | WorkerStores,
        files: Sequence[SourceFile],
        index: PrefilterIndex | None,
        config: Config,
    ) -> None:
        self.classifier = classifier
        self.rules = rules
        #: Linker over the candidates and the caller files found so far.
        self.linker = classifier.linker
        self.candidates = candidates
        self.store = store
        #: Discovery order: the cap keeps the first files in it, whoever found them.
        self.order = {source.relpath: position for position, source in enumerate(files)}
        self.index = index
        self.digest = f"{rules.digest}/callers"
        self.config = config
        self.facts: dict[str, FileFacts] = {}
        self.matched: set[str] = set()
        #: Files naming any anchor word: never indexed as clean of the anchors.
        self.anchored: set[str] = set()
        #: The search stopped at _MAX_CALLER_FILES; chains may be incomplete.
        self.truncated = False
        #: (linker, names bound elsewhere by what they resolve to), for `_pairs`.
        self._bound_to: tuple[Linker, dict[str, set[str]]] | None = None

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
            return frozenset()  # files past the cap were never parsed
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
        if self._bound_to is None or self._bound_to[0] is not self.linker:
            linker = self.linker
            # Every name bound elsewhere (a re-export), by what it finally resolves to.
            reverse: dict[str, set[str]] = {}
            for alias in linker.symbols:
                reverse.setdefault(linker.canonical(alias)[0], set()).add(alias)
            self._bound_to = (linker, reverse)
        bound_to = self._bound_to[1]
        pairs: set[tuple[str, str]] = set()
        for function in functions:
            name = function.rpartition(".")[2]
            # Names bound to the function elsewhere (re-exports) reach it too.
            targets = {function} | bound_to.get(function, set())
            for target in targets:
                target_owner, _, target_name = target.rpartition(".")
                anchor = target_owner.rsplit(".", 1)[-1]
                # A function is reached through its module or class, __init__ by
                # constructing the class (whose name is then both words).
                pairs.add((anchor, anchor) if name == "__init__" else (target_name, anchor))
        return pairs

    def _not_async_functions(self) -> set[str]:
        return search_roots(self.classifier.linker, self.candidates.values())

    def _search(self, pairs: set[tuple[str, str]]) -> None:
        anchors = frozenset(anchor for _, anchor in pairs)
        covered = self.index is not None and anchors <= self.index.words
        skip = frozenset(self.candidates) | frozenset(self.facts) | frozenset(self.matched)
        screened = self.store.screen(frozenset(pairs), skip, covered)
        wanted: list[str] = []
        for relpath, _, matches in sorted(screened, key=lambda hit: self.order[hit[0]]):
            self.anchored.add(relpath)
            if not matches:
                continue
            if len(self.matched) >= _MAX_CALLER_FILES:
                self.truncated = True
                continue
            self.matched.add(relpath)
            wanted.append(relpath)
        if not wanted:
            return
        found = self.store.extract_callers(wanted, self.digest)
        if found:
            self.facts.update(found)
            self.linker = Linker(self.rules, [*self.candidates.values(), *self.facts.values()])

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


def search_roots(linker: Linker, candidates: Iterable[FileFacts]) -> set[str]:
    """Functions that hold a site whose plan can be `not-async`: where the search for
    callers starts.

    Decided from a site's form, targets, scope and storage, never from the rest of
    how a result is used. Follows `Classifier._plan`'s way to
    `not-async`; where a call has several targets, any of them may decide.
    """
    functions: set[str] = set()
    for facts in candidates:
        for call in facts.calls:
            if (
                call.function >= 0
                and not call.scope.is_async
                and call.scope.level is ScopeLevel.FUNCTION
                and call.storage is None
                and any(
                    _may_need_async(linker, facts, call, match) for match in _matches(linker, call)
                )
            ):
                functions.add(facts.functions[call.function].qualname)
    return functions


def _may_need_async(linker: Linker, facts: FileFacts, call: CallFacts, match: Match | None) -> bool:
    """Can this site's plan be `not-async` (see `Classifier._classify`)?"""
    if match is None:
        return False
    factory = _factory_of(linker, match)
    if linker.internal_site(facts, call, factory):
        return False  # factory-internal comes first
    if match.kind is TargetKind.LEGACY:
        return call.form in _LEGACY_FORMS
    member = match.member
    if match.kind is not TargetKind.CLASS or call.form is not CallForm.CALL or member is None:
        return False
    if not member.init_without_context and (
        member.forwards_kwargs or context_argument(call, member) == "forwarded"
    ):
        return False  # uncertain: the context may be in forwarded arguments
    return (
        not member.is_subclass
        and member.rule.factory is not None
        and member.rule.factory.awaitable
        and not (member.signature_conflict and call.positional)
    )


def _matches(linker: Linker, call: CallFacts) -> list[Match | None]:
    """What each of a call's targets resolves to (`Classifier._classify`'s matches)."""
    matches = [linker.match(target) for target in call.targets]
    if not any(matches) and call.form is CallForm.CALL:
        matches = [linker.method_match(call.callee_text, call.targets)]
    return matches


def _factory_of(linker: Linker, match: Match) -> CallTarget | None:
    """The factory a site's rewrite would call (the created class's, for a legacy factory)."""
    if match.member is not None:
        return match.member.rule.factory
    if match.legacy is not None:
        for rule in linker.rules.classes:
            if rule.id == match.legacy.creates:
                return rule.factory
    return None


#: Forms whose legacy-factory sites get a plan (`Classifier._legacy`).
_LEGACY_FORMS = frozenset({CallForm.CALL, CallForm.PARTIAL, CallForm.FACTORY_REF})


def apply_suppressions(findings: list[Finding], facts: dict[str, FileFacts]) -> list[Finding]:
    """Mark findings suppressed by a `# migrator: ignore[...]` comment on their call."""
    from migrator.suppress import apply_suppressions as apply

    return apply(findings, facts)
