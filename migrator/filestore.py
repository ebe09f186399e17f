"""Where a run keeps the bytes of the files, and the work done on them.

A run reads each file once and then searches its bytes again and again: for the
rule pack's names, for the aliases each round of linking discovers, and for the
callers of functions whose sites cannot be rewritten until they are async. On a
large tree, those searches and the LibCST extraction of the files they select are
most of the work. So a cold run over many files forks worker processes, each of
which reads, keeps, searches and extracts its own share of the files
(`WorkerStores`), and the parent only links and classifies. A small or warm run
keeps the bytes in the parent (`LocalStore`). Both answer the same questions with
the same code (`Store`), so they give the same answers; `tests/test_engine_parallel.py`
checks it.

Every extraction works on the bytes that were read and hashed, never on a second
read of the file, so a file edited during the run cannot be cached under the key
of its earlier content.
"""

from __future__ import annotations

import ast
import contextlib
import multiprocessing
import os
import re
import sys
import time
import traceback
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any, cast

from migrator.cache import IRRELEVANT_ENTRY, FactsCache, PrefilterIndex
from migrator.config import Config
from migrator.discovery import SourceFile, module_name
from migrator.facts import FileFacts
from migrator.source import SourceError, decode, hides_names, searchable

#: Below this many files to extract, a process pool costs more than it saves.
PARALLEL_THRESHOLD = 12

#: (relpath, facts, error). (relpath, None, None): the file names no word as an identifier.
ExtractResult = tuple[str, FileFacts | None, str | None]
#: (relpath, names an anchor word, contains a (name, anchor) pair).
ScreenResult = tuple[str, bool, bool]
#: Reports progress: (phase, files done since the last call).
Tick = Callable[[str, int], None]


class Meter:
    """Turns increments from the stores into (phase, done, total) progress calls."""

    def __init__(self, progress: Callable[[str, int, int], None] | None) -> None:
        self.progress = progress
        self.totals: dict[str, int] = {}
        self.done: dict[str, int] = {}

    def start(self, phase: str, total: int) -> None:
        self.totals[phase] = total
        self.done[phase] = 0
        if self.progress is not None:
            self.progress(phase, 0, total)

    def advance(self, phase: str, count: int) -> None:
        self.done[phase] = self.done.get(phase, 0) + count
        if self.progress is not None and phase in self.totals:
            self.progress(phase, self.done[phase], self.totals[phase])


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
        self.word_set = frozenset(self.words)
        self.needles = _needles(self.words)
        #: The word pattern, unless the words are many and can be listed (`_listable`).
        self.pattern = (
            names_pattern(w.decode("utf-8") for w in self.words)
            if self.words and not _listable(self.words)
            else None
        )

    def __call__(self, raw: bytes) -> bool:
        # A name spelled so that its bytes differ goes to decoding (which refuses it).
        return self._mentions(raw) or (bool(self.words) and hides_names(raw, self.words))

    def _mentions(self, raw: bytes) -> bool:
        if not self.words:
            return False
        for needle in self.needles:
            if needle in raw:
                break
        else:
            return False
        if self.pattern is None:
            # A word matches as a whole word exactly when it is one of the file's
            # maximal runs of word characters: one pass lists them all.
            return not self.word_set.isdisjoint(_WORD_RUN.findall(raw))
        for word in self.words:
            if word in raw:
                return self.pattern.search(raw) is not None
        return False


#: From this many words on, listing a file's words once beats one search per word
#: (the caller search's anchors are often hundreds of module names).
_MANY_WORDS = 16
#: A maximal run of the characters `names_pattern`'s boundaries exclude.
_WORD_RUN = re.compile(rb"[A-Za-z0-9_]+")


def _listable(words: Collection[str] | Collection[bytes]) -> bool:
    """Whether a file's word runs find `words`: many of them, each a run itself.

    A word with other characters (`Café`: its UTF-8 bytes end a run) is found by
    `names_pattern` only.
    """
    return len(words) >= _MANY_WORDS and all(
        _WORD_RUN.fullmatch(w if isinstance(w, bytes) else w.encode("utf-8")) for w in words
    )


def _words_in(raw: bytes, words: frozenset[str], pattern: re.Pattern[bytes] | None) -> set[str]:
    """Which of `words` `raw` holds as whole words; `pattern` is theirs, for a few words."""
    raw = searchable(raw)  # `ToolDispatⅽher` (U+217D) is `ToolDispatcher` to Python
    if pattern is None:
        # The alternation of hundreds of words is tried at every position; listing
        # the file's words once is faster and finds the same ones.
        runs = {run.decode("utf-8") for run in set(_WORD_RUN.findall(raw))}
        return runs & words
    return {m.decode("utf-8") for m in pattern.findall(raw)}


def _needles(words: Sequence[bytes], shortest: int = 8) -> tuple[bytes, ...]:
    """A small set of substrings such that every word contains one of them.

    Greedy set cover over the substrings of at least `shortest` bytes (a word
    shorter than that stands for itself); longer substrings win ties, since they
    occur in fewer unrelated files.
    """
    from collections import Counter

    parts = {
        word: {
            word[i : i + n]
            for n in range(min(len(word), shortest), len(word) + 1)
            for i in range(len(word) - n + 1)
        }
        for word in words
    }
    uncovered = set(words)
    chosen: list[bytes] = []
    while uncovered:
        counts: Counter[bytes] = Counter()
        for word in uncovered:
            counts.update(parts[word])
        best = max(counts, key=lambda part: (counts[part], len(part), part))
        chosen.append(best)
        uncovered = {word for word in uncovered if best not in word}
    return tuple(chosen)


def identifiers_mention(
    tree: ast.Module, names: frozenset[str], imported_only: frozenset[str] = frozenset()
) -> bool:
    """Whether one of `names` is used as a Python identifier in the parsed file `tree`.

    Extraction records only what an identifier written in the file leads to (a
    call's callee, an import, a base class, a name bound here; a string annotation
    resolves only through a name bound here or a star import). A file whose words
    match only inside strings or comments therefore yields no sites, and one walk
    over its tree says so more cheaply than extracting it: profiling showed a 290 kB
    data module that lists "Dispatcher" as a job title taking longer to extract than
    all the real sites of the corpus together. A star import answers True.

    A name in `imported_only` (an alias discovered in another module) counts only
    where it is imported or read as an attribute: a class of the same name defined
    and used in this file is a different object (twisted's IRC tests define their own
    `Dispatcher`, which made a 100 kB file the longest job of a cold run).
    """
    from migrator.extract import walk

    local_names = names - imported_only
    for node in walk(tree):
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


#: One file to extract: (relpath, raw bytes, module, is_package, names, imported_only).
ExtractJob = tuple[str, bytes, str, bool, frozenset[str], frozenset[str]]


def extract_source(job: ExtractJob) -> ExtractResult:
    """Decode, parse (once) and extract one file's bytes. Never raises for a bad file.

    `imported_only` are names found by alias discovery (not written in a rule): a
    file can only reach them through an import or an attribute.
    """
    from migrator.extract import ExtractionError, extract_tree, parse

    relpath, raw, module, is_package, names, imported_only = job
    try:
        text = decode(raw).text
        tree = parse(text)
        if not identifiers_mention(tree, names, imported_only):
            return relpath, None, None
        return relpath, extract_tree(tree, text, relpath, module, is_package, names), None
    except (SourceError, ExtractionError) as error:
        return relpath, None, str(error)
    except RecursionError:
        # Not expected: every walk of the tree keeps its own stack.
        return relpath, None, "too deeply nested to analyse (recursion limit); skipped"
    except Exception as error:
        return (
            relpath,
            None,
            f"internal error while analysing ({type(error).__name__}: {error}); please report it",
        )


def _extract_caller(job: ExtractJob) -> FileFacts | None:
    """Facts of a caller file (no rule names: its functions and what they call)."""
    from migrator.extract import ExtractionError, extract

    relpath, raw, module, is_package, _, _ = job
    try:
        return extract(decode(raw).text, relpath, module, is_package, frozenset())
    except (SourceError, ExtractionError, RecursionError):
        return None  # not a candidate: its problems are reported when it becomes one


class Store:
    """The bytes of some files and the questions asked of them, in one process."""

    def __init__(
        self,
        root: Path,
        config: Config,
        rules_digest: str,
        cache: FactsCache | None,
        *,
        parallel: bool = False,
    ) -> None:
        self.root = root
        self.config = config
        self.rules_digest = rules_digest
        self.cache = cache
        #: Extract through a process pool when there are enough files (a local store).
        self.parallel = parallel
        self.sources: dict[str, SourceFile] = {}
        self.contents: dict[str, bytes] = {}
        #: Files whose read failed: reported once, never read again by a later search.
        self.unreadable: set[str] = set()
        #: Bytes of unread (index-clean) files that a caller screen matched.
        self.screened: dict[str, bytes] = {}
        self.tick: Tick | None = None

    def _tick(self, phase: str, done: int) -> None:
        if self.tick is not None:
            self.tick(phase, done)

    def own(self, sources: Iterable[SourceFile]) -> None:
        """The files this store answers for, read or not."""
        for source in sources:
            self.sources[source.relpath] = source

    def own_paths(self, files: Iterable[tuple[str, str]]) -> None:
        """`own`, from (location, relpath) pairs."""
        self.own(SourceFile(location, relpath) for location, relpath in files)

    def read(self, relpaths: Sequence[str]) -> tuple[list[tuple[str, str]], dict[str, list[int]]]:
        """Read files into memory: (relpath, message) for those that cannot be read, and
        the stat signature (for the prefilter index) of each file read, taken from the
        handle it was read through."""
        errors: list[tuple[str, str]] = []
        signatures: dict[str, list[int]] = {}
        for count, relpath in enumerate(relpaths, start=1):
            try:
                with open(self.sources[relpath].location, "rb") as handle:
                    signatures[relpath] = PrefilterIndex.signature(os.fstat(handle.fileno()))
                    self.contents[relpath] = handle.read()
            except OSError as error:
                signatures.pop(relpath, None)
                self.unreadable.add(relpath)
                errors.append((relpath, f"cannot read: {error.strerror or error}"))
            if count % 250 == 0:
                self._tick("read", 250)
        self._tick("read", len(relpaths) % 250)
        return errors, signatures

    def search(
        self,
        words: frozenset[str],
        names: frozenset[str],
        extracted: Mapping[str, frozenset[str]],
        skip: frozenset[str],
    ) -> dict[str, frozenset[str]]:
        """Files (not in `skip`) that mention one of `words`, or were extracted before,
        whose names changed.

        The value is the set of `names` the file mentions as whole words: extraction
        depends on nothing else, so a name found only inside a longer identifier
        (`Dispatcher` in `ToolDispatcher`) does not force a re-extraction.
        """
        prefilter = Prefilter(words)
        pattern = None if _listable(names) else names_pattern(names)
        changed: dict[str, frozenset[str]] = {}
        for relpath, raw in self.contents.items():
            if relpath in skip:
                continue
            if relpath in extracted or prefilter(raw):
                present = frozenset(_words_in(raw, names, pattern))
                if extracted.get(relpath) != present:
                    changed[relpath] = present
        return changed

    def extract(
        self, wanted: Mapping[str, frozenset[str]], rule_names: frozenset[str]
    ) -> list[ExtractResult]:
        """Extract the files of `wanted` with the names each mentions, through the cache."""
        results: list[ExtractResult] = []
        pending: list[tuple[ExtractJob, str | None]] = []
        for relpath in sorted(wanted):
            present = wanted[relpath]
            raw = self.contents[relpath]
            module, is_package = module_name(relpath, self.root, self.config.source_roots)
            key = None
            if self.cache is not None:
                key = FactsCache.key(raw, relpath, self.rules_digest, present, module, is_package)
                cached = self.cache.lookup(key)
                if cached is not None:
                    facts = cached if isinstance(cached, FileFacts) else None
                    results.append((relpath, facts, None))
                    self._tick("analyse", 1)
                    continue
            pending.append(((relpath, raw, module, is_package, present, present - rule_names), key))
        done = self._map(extract_source, [job for job, _ in pending])
        for (_, key), (relpath, facts, error) in zip(pending, done, strict=True):
            if self.cache is not None and key is not None and error is None:
                self.cache.put(key, facts if facts is not None else IRRELEVANT_ENTRY)
            results.append((relpath, facts, error))
            self._tick("analyse", 1)
        return sorted(results, key=_first)

    def _map(self, function: Callable[[ExtractJob], Any], jobs: list[ExtractJob]) -> Iterable[Any]:
        jobs_wanted = self.config.effective_jobs
        if not self.parallel or len(jobs) < PARALLEL_THRESHOLD or jobs_wanted <= 1:
            return map(function, jobs)
        workers = min(jobs_wanted, max(1, len(jobs) // 4))
        chunk = max(1, min(16, len(jobs) // (workers * 4)))
        return _pool_map(function, jobs, workers, chunk)

    def screen(
        self, pairs: frozenset[tuple[str, str]], skip: frozenset[str], covered: bool
    ) -> list[ScreenResult]:
        """Files (not in `skip`) that name an anchor of `pairs`, and whether they hold a pair.

        A caller must name its anchor (a module or class name, usually rare), so
        substring needles of the anchors reject almost every file before the word
        pattern runs. A file not read (clean in the prefilter index) is skipped when
        the index `covered` the anchors, else read now.
        """
        words = frozenset(word for pair in pairs for word in pair)
        anchors = frozenset(anchor for _, anchor in pairs)
        prefilter = Prefilter(anchors)
        pattern = None if _listable(words) else names_pattern(words)
        found_files: list[ScreenResult] = []
        for relpath, source in self.sources.items():
            if relpath in skip or relpath in self.unreadable:
                continue
            raw = self.contents.get(relpath)
            if raw is None:
                if covered:
                    continue
                try:
                    with open(source.location, "rb") as handle:
                        raw = handle.read()
                except OSError:
                    continue
            if not prefilter(raw):
                continue
            found = _words_in(raw, words, pattern)
            if found & anchors:
                matches = any(name in found and anchor in found for name, anchor in pairs)
                found_files.append((relpath, True, matches))
                if matches and relpath not in self.contents:
                    # Extracted next as a caller: from these bytes, not a second read.
                    self.screened[relpath] = raw
        return found_files

    def extract_callers(self, relpaths: Sequence[str], digest: str) -> dict[str, FileFacts]:
        """Functions and calls of caller files (no rule names), through the cache."""
        facts: dict[str, FileFacts] = {}
        pending: list[tuple[ExtractJob, str | None]] = []
        for relpath in relpaths:
            raw = self.contents.get(relpath)
            if raw is None:
                raw = self.screened.pop(relpath, None)
            if raw is None:
                continue  # neither read nor screened here: nothing to extract from
            module, is_package = module_name(relpath, self.root, self.config.source_roots)
            key = None
            if self.cache is not None:
                key = FactsCache.key(raw, relpath, digest, frozenset(), module, is_package)
                cached = self.cache.lookup(key)
                if isinstance(cached, FileFacts):
                    facts[relpath] = cached
                    continue
            pending.append(((relpath, raw, module, is_package, frozenset(), frozenset()), key))
        extracted = self._map(_extract_caller, [job for job, _ in pending])
        for (job, key), result in zip(pending, extracted, strict=True):
            if result is None:
                continue
            facts[job[0]] = result
            if self.cache is not None and key is not None:
                self.cache.put(key, result)
        return facts


def _pool_map(
    function: Callable[[ExtractJob], Any], jobs: list[ExtractJob], workers: int, chunk: int
) -> Iterable[Any]:
    with ProcessPoolExecutor(
        max_workers=workers, initializer=die_with_parent, initargs=(os.getpid(),)
    ) as pool:
        yield from pool.map(function, jobs, chunksize=chunk)


# --------------------------------------------------------------------- worker stores


class WorkerError(RuntimeError):
    """A worker process failed or ended; the message says which and how."""


def die_with_parent(parent: int) -> None:
    """End this worker when the process that started it dies, even by SIGKILL.

    A SIGKILLed parent cannot stop its workers, and a worker blocked in `recv()` or
    busy with its share would otherwise live on forever. On Linux the kernel sends
    SIGKILL when the parent dies (`prctl(PR_SET_PDEATHSIG)`); everywhere, a daemon
    thread also watches the parent's pid, the fallback where prctl is missing.
    """
    import signal
    import threading

    if sys.platform.startswith("linux"):
        import ctypes

        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # 1 is PR_SET_PDEATHSIG
    if os.getppid() != parent:
        os._exit(1)  # the parent died before the request above was made

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, name="migrator-parent-watch", daemon=True).start()


def _serve(connection: Connection, store: Store, parent: int) -> None:
    """A worker's loop: answer (method, args) requests until told to stop."""
    import signal

    die_with_parent(parent)

    # Ctrl-C is the parent's to handle: it stops the workers itself, and a worker
    # interrupted in recv() would only print a traceback.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # The parent's SIGTERM handler (`engine._terminate_as_exit`) is not the worker's:
    # a worker told to terminate does so.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    import migrator.extract  # noqa: F401  (needed by every share)

    def tick(phase: str, done: int) -> None:
        if done:
            connection.send(("tick", phase, done))

    store.tick = tick
    cache = store.cache
    while True:
        request = connection.recv()
        if request is None:
            return
        method, args = request
        used_before = set(cache.used) if cache is not None else set()
        hits_before = cache.hits if cache is not None else 0
        try:
            result = getattr(store, method)(*args)
        except BaseException:
            connection.send(("error", traceback.format_exc()))
            continue
        used = (cache.used - used_before) if cache is not None else set()
        hits = (cache.hits - hits_before) if cache is not None else 0
        connection.send(("ok", result, used, hits))


class WorkerStores:
    """Worker processes, each a `Store` over every n-th file, driven from this process.

    Forked before the tree is read, so no worker starts as a copy of a parent
    holding every file's bytes. Each request goes to every worker (or to the
    owners of the files it names) and the answers are merged in a fixed order, so
    results do not depend on which worker finished first.
    """

    def __init__(
        self,
        count: int,
        root: Path,
        config: Config,
        rules_digest: str,
        cache: FactsCache | None,
        meter: Meter,
    ) -> None:
        context = multiprocessing.get_context("fork")
        self.cache = cache
        self.meter = meter
        self.owner: dict[str, int] = {}
        self.connections: list[Connection] = []
        self.processes: list[Any] = []
        try:
            for _ in range(count):
                parent_end, child_end = context.Pipe()
                self.connections.append(parent_end)
                store = Store(root, config, rules_digest, cache)
                process = context.Process(
                    target=_serve, args=(child_end, store, os.getpid()), daemon=True
                )
                process.start()
                child_end.close()
                self.processes.append(process)
        except BaseException:
            self.close(abort=True)
            raise

    def close(self, *, abort: bool = False) -> None:
        """Stop the workers: politely when they are idle, at once when the run is abandoned.

        A worker finishes its whole share before it reads another request, so after
        an error or Ctrl-C asking would mean waiting for that share: kill instead.
        """
        if not abort:
            for connection in self.connections:
                with contextlib.suppress(OSError):
                    connection.send(None)
            deadline = time.monotonic() + 5
            for process in self.processes:
                process.join(timeout=max(0.0, deadline - time.monotonic()))
        for process in self.processes:
            if process.is_alive():
                process.kill()
            process.join()
        for connection in self.connections:
            connection.close()

    def _ask(self, requests: dict[int, tuple[str, tuple[Any, ...]]]) -> dict[int, Any]:
        """Send one request to each worker named; wait for every answer."""
        for worker, request in requests.items():
            try:
                self.connections[worker].send(request)
            except OSError:
                raise self._ended(worker) from None
        waiting = {self.connections[worker]: worker for worker in requests}
        answers: dict[int, Any] = {}
        while waiting:
            for ready in wait(list(waiting)):
                connection = cast(Connection, ready)
                worker = waiting[connection]
                try:
                    message: tuple[Any, ...] = connection.recv()
                except EOFError:
                    raise self._ended(worker) from None
                if message[0] == "tick":
                    self.meter.advance(message[1], message[2])
                    continue
                del waiting[connection]
                if message[0] == "error":
                    raise WorkerError(f"a worker process failed:\n{message[1]}")
                _, result, used, hits = message
                if self.cache is not None:
                    self.cache.used |= used
                    self.cache.hits += hits
                answers[worker] = result
        return answers

    def _ended(self, worker: int) -> WorkerError:
        process = self.processes[worker]
        process.join(timeout=1)
        return WorkerError(
            f"a worker process ended unexpectedly (exit code {process.exitcode}); "
            "rerun with --jobs 1 to see which file causes it"
        )

    def _by_owner(self, relpaths: Iterable[str]) -> dict[int, list[str]]:
        shares: dict[int, list[str]] = {}
        for relpath in relpaths:
            shares.setdefault(self.owner[relpath], []).append(relpath)
        return shares

    def own(self, sources: Sequence[SourceFile]) -> None:
        count = len(self.connections)
        for index, source in enumerate(sources):
            self.owner[source.relpath] = index % count
        # Plain strings pickle faster than SourceFile objects.
        self._ask(
            {
                w: ("own_paths", ([(s.location, s.relpath) for s in sources[w::count]],))
                for w in range(count)
            }
        )

    def read(self, relpaths: Sequence[str]) -> tuple[list[tuple[str, str]], dict[str, list[int]]]:
        shares = self._by_owner(relpaths)
        answers = self._ask({w: ("read", (share,)) for w, share in shares.items()})
        errors = sorted(error for w in answers for error in answers[w][0])
        signatures: dict[str, list[int]] = {}
        for w in sorted(answers):
            signatures.update(answers[w][1])
        return errors, signatures

    def search(
        self,
        words: frozenset[str],
        names: frozenset[str],
        extracted: Mapping[str, frozenset[str]],
        skip: frozenset[str],
    ) -> dict[str, frozenset[str]]:
        shares = self._by_owner(extracted)
        answers = self._ask(
            {
                w: ("search", (words, names, {r: extracted[r] for r in shares.get(w, [])}, skip))
                for w in range(len(self.connections))
            }
        )
        return {
            relpath: present for w in sorted(answers) for relpath, present in answers[w].items()
        }

    def extract(
        self, wanted: Mapping[str, frozenset[str]], rule_names: frozenset[str]
    ) -> list[ExtractResult]:
        shares = self._by_owner(wanted)
        answers = self._ask(
            {
                w: ("extract", ({r: wanted[r] for r in share}, rule_names))
                for w, share in shares.items()
            }
        )
        return sorted((result for results in answers.values() for result in results), key=_first)

    def screen(
        self, pairs: frozenset[tuple[str, str]], skip: frozenset[str], covered: bool
    ) -> list[ScreenResult]:
        answers = self._ask(
            {w: ("screen", (pairs, skip, covered)) for w in range(len(self.connections))}
        )
        return [result for w in sorted(answers) for result in answers[w]]

    def extract_callers(self, relpaths: Sequence[str], digest: str) -> dict[str, FileFacts]:
        shares = self._by_owner(relpaths)
        answers = self._ask(
            {w: ("extract_callers", (share, digest)) for w, share in shares.items()}
        )
        merged: dict[str, FileFacts] = {}
        for w in sorted(answers):
            merged.update(answers[w])
        return merged


def _first(result: ExtractResult) -> str:
    return result[0]


def worker_count(config: Config, file_count: int, threshold: int) -> int:
    """How many worker stores a run should fork (0: keep the bytes in this process)."""
    if config.effective_jobs <= 1 or file_count < threshold:
        return 0
    # The stores are handed to the workers by forking, which macOS's system
    # libraries do not support reliably (Python defaults to spawn there).
    if sys.platform == "darwin" or "fork" not in multiprocessing.get_all_start_methods():
        return 0
    return config.effective_jobs
