"""The audit engine: discover, prefilter, extract in parallel, link, classify.

The engine never prints and never raises for one bad file: a file that cannot be
read or parsed comes back as a `FileError` and the run goes on. Progress is
reported through an optional callback so the CLI can draw a bar.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

from migrator.cache import FactsCache
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

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class _Job:
    path: str
    relpath: str
    module: str
    is_package: bool
    names: frozenset[str]


@dataclass(frozen=True)
class Analysis:
    """The linked facts of a run: what `fix` and `report` build on."""

    result: AuditResult
    facts: dict[str, FileFacts]
    linker: Linker
    classifier: Classifier


def names_pattern(names: Iterable[str]) -> re.Pattern[bytes]:
    words = sorted({re.escape(name.encode("ascii", "ignore")) for name in names if name}, key=len, reverse=True)
    return re.compile(rb"(?<![A-Za-z0-9_])(?:" + b"|".join(words) + rb")(?![A-Za-z0-9_])")


def _extract_job(job: _Job) -> tuple[str, FileFacts | None, str | None]:
    """Worker: read, decode and extract one file. Returns (relpath, facts, error)."""
    from migrator.extract import ExtractionError, extract

    try:
        raw = Path(job.path).read_bytes()
        source = decode(raw)
        return job.relpath, extract(source.text, job.relpath, job.module, job.is_package, job.names), None
    except (SourceError, ExtractionError) as error:
        return job.relpath, None, str(error)
    except OSError as error:
        return job.relpath, None, f"cannot read: {error.strerror}"
    except Exception as error:  # noqa: BLE001 - one bad file must never stop the run
        return job.relpath, None, f"internal error while analysing ({type(error).__name__}: {error}); please report it"


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
    # round of alias discovery, without touching the disk again.
    contents: dict[str, bytes] = {}
    by_path: dict[str, SourceFile] = {}
    for index, source in enumerate(files):
        try:
            contents[source.relpath] = source.path.read_bytes()
            by_path[source.relpath] = source
        except OSError as error:
            errors.append(FileError(source.relpath, f"cannot read: {error.strerror or error}"))
        if progress is not None and index % 500 == 0:
            progress("read", index, len(files))

    names = rules.search_names()
    facts: dict[str, FileFacts] = {}
    facts_names: dict[str, frozenset[str]] = {}
    failed: dict[str, str] = {}
    searched: frozenset[str] = frozenset()
    linker = Linker(rules, [])
    while True:
        new_words = names - searched
        pattern = names_pattern(new_words) if new_words else None
        matched_any: dict[str, frozenset[str]] = {}
        if pattern is not None:
            for relpath, raw in contents.items():
                if relpath in failed:
                    continue
                if relpath in facts or pattern.search(raw):
                    present = frozenset(n for n in names if n.encode() in raw)
                    if facts_names.get(relpath) != present:
                        matched_any[relpath] = present
        searched = names
        if not matched_any:
            break
        jobs: list[_Job] = []
        for relpath, present in sorted(matched_any.items()):
            module, is_package = module_name(relpath, root, config.source_roots)
            jobs.append(_Job(str(by_path[relpath].path), relpath, module, is_package, present))
        for relpath, result, error in _run_jobs(jobs, contents, cache, rules.digest, config, progress):
            if error is not None:
                failed[relpath] = error
                facts.pop(relpath, None)
            elif result is not None:
                facts[relpath] = result
                facts_names[relpath] = matched_any[relpath]
        linker = Linker(rules, facts.values())
        names = names | linker.discovered_names()
        if names == searched:
            break

    for relpath, message in sorted(failed.items()):
        errors.append(FileError(relpath, message))
    classifier = Classifier(
        linker, test_patterns=config.test_patterns, async_chain_depth=config.async_chain_depth
    )
    wanted = set(only) if only is not None else None
    findings: list[Finding] = []
    for relpath in sorted(facts):
        if wanted is not None and relpath not in wanted:
            continue
        findings.extend(classifier.findings(facts[relpath], is_test_path(relpath, config.test_patterns)))
    findings = apply_suppressions(findings, facts)
    if cache is not None and (paths is None or list(paths) in ([], ["."])) and wanted is None:
        cache.prune()
    result = AuditResult(
        root=str(root),
        files_scanned=len(files),
        files_analysed=len(facts) + len(failed),
        findings=tuple(findings),
        errors=tuple(sorted(errors, key=lambda e: e.path)),
        aliases=linker.alias_notes(),
        rule_packs=tuple(pack.id for pack in rules.packs),
        cache_hits=cache.hits if cache is not None else 0,
        warnings=tuple(linker.warnings),
    )
    return Analysis(result=result, facts=facts, linker=linker, classifier=classifier)


def _run_jobs(
    jobs: list[_Job],
    contents: dict[str, bytes],
    cache: FactsCache | None,
    rules_digest: str,
    config: Config,
    progress: Progress | None,
) -> Iterable[tuple[str, FileFacts | None, str | None]]:
    pending: list[tuple[_Job, str | None]] = []
    for job in jobs:
        key = FactsCache.key(contents[job.relpath], job.relpath, rules_digest, job.names) if cache else None
        cached = cache.get(key) if cache is not None and key is not None else None
        if cached is not None:
            yield job.relpath, cached, None
        else:
            pending.append((job, key))
    total = len(pending)
    workers = min(config.effective_jobs, max(1, total // 4))
    if total < _PARALLEL_THRESHOLD or workers <= 1:
        results: Iterable[tuple[str, FileFacts | None, str | None]] = map(
            _extract_job, (job for job, _ in pending)
        )
        yield from _store(results, pending, cache, progress, total)
        return
    chunk = max(1, min(16, total // (workers * 4)))
    with ProcessPoolExecutor(max_workers=workers) as pool:
        yield from _store(
            pool.map(_extract_job, [job for job, _ in pending], chunksize=chunk), pending, cache, progress, total
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
        if cache is not None and key is not None and facts is not None:
            cache.put(key, facts)
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


def default_jobs() -> int:
    return os.cpu_count() or 1
