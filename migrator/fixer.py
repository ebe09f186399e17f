"""`migrator fix` without the printing: plan, rewrite, verify, write.

Per file with rewritable sites: the context-manager codemod runs on the audited
text, the file is re-analysed (positions moved), the factory codemod runs, and the
result is verified: it must parse, pass `compile()` (which, unlike the parsers,
rejects an `await` outside `async def`), and running the whole pipeline over it
again must change nothing. Only then may it be written, atomically.
"""

from __future__ import annotations

import enum
import warnings
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import libcst as cst
from libcst.codemod import CodemodContext

from migrator.config import Config
from migrator.discovery import is_test_path, module_name
from migrator.engine import Analysis, Progress, analyse
from migrator.extract import ExtractionError
from migrator.model import AuditResult, Finding, FixAction, Kind
from migrator.rules import RuleSet
from migrator.source import SourceError, decode, encode, restore_layout
from migrator.testfixture import define_fixture
from migrator.writer import WriteRefused, create_atomic, write_atomic


class Style(str, enum.Enum):
    AUTO = "auto"
    FACTORY = "factory"
    CONTEXT_MANAGER = "context-manager"


@dataclass(frozen=True)
class FileChange:
    path: str
    absolute: Path
    original: bytes
    new: bytes | None
    rewritten: tuple[tuple[Finding, FixAction], ...]
    error: str | None = None
    #: Test functions that gained the test-context fixture as a parameter (issue 13).
    injected: tuple[str, ...] = ()
    #: The fixture this (conftest) change defines, and whether the file is new.
    defined: str | None = None
    created: bool = False

    @property
    def changed(self) -> bool:
        return self.new is not None and self.new != self.original and self.error is None


@dataclass(frozen=True)
class FixPlanResult:
    audit: AuditResult
    changes: tuple[FileChange, ...]
    left: tuple[Finding, ...]
    written: tuple[str, ...] = ()
    write_errors: tuple[tuple[str, str], ...] = ()
    extra: dict[str, object] = field(default_factory=dict, compare=False)

    def rewritten_by_action(self) -> Counter[str]:
        return Counter(
            action.value
            for change in self.changes
            if change.changed
            for _, action in change.rewritten
        )

    def test_context_lines(self) -> list[str]:
        """What `fix` did for test code's context (issue 13), one sentence each, for the summary."""
        lines: list[str] = []
        injected = [c for c in self.changes if c.changed and c.injected]
        fixture = next((c.defined for c in self.changes if c.changed and c.defined), None)
        tests = sum(len(c.injected) for c in injected)
        if tests:
            lines.append(f"{tests} test function(s) given the test context fixture as a parameter")
        for change in self.changes:
            if change.changed and change.defined:
                how = "created" if change.created else "added to"
                lines.append(f"the `{fixture}` fixture defined in {change.path} ({how})")
        return lines

    def left_by_reason(self) -> Counter[str]:
        return Counter(
            (f.fix.reason or f"{f.fix.action.value} (not applied)")
            for f in self.left
            if f.fix is not None
        )


def plan_fixes(
    config: Config,
    rules: RuleSet,
    paths: Sequence[str] | None = None,
    *,
    style: Style = Style.AUTO,
    progress: Progress | None = None,
    allowed: frozenset[str] | None = None,
) -> FixPlanResult:
    """Plan the rewrites of `paths`; `allowed` limits them to sites with these fingerprints."""
    analysis = analyse(config, rules, paths, progress=progress)
    by_file: dict[str, list[Finding]] = {}
    for finding in analysis.result.findings:
        if (
            finding.fix is not None
            and finding.fix.action is not FixAction.MANUAL
            and not finding.suppressed
        ):
            by_file.setdefault(finding.path, []).append(finding)
    root = Path(analysis.result.root)
    work = sorted(by_file.items())
    state = _RewriteState(analysis, root, rules, style, config, allowed)
    changes: list[FileChange] = []
    for index, change in enumerate(_rewrite_all(state, work, config.effective_jobs), start=1):
        changes.append(change)
        if progress is not None:
            progress("rewrite", index, len(work))
    changes = define_fixture(root, rules.testing, changes)
    rewritten_ids = {f.fingerprint for c in changes if c.changed for f, _ in c.rewritten}
    left = tuple(
        f
        for f in analysis.result.findings
        if f.fix is not None
        and f.fingerprint not in rewritten_ids
        and not f.suppressed
        and not _direct_done(f)
    )
    return FixPlanResult(audit=analysis.result, changes=tuple(changes), left=left)


@dataclass(frozen=True)
class _RewriteState:
    analysis: Analysis
    root: Path
    rules: RuleSet
    style: Style
    config: Config
    allowed: frozenset[str] | None


#: Below this many files a process pool costs more than it saves.
_PARALLEL_REWRITES = 16

#: Set in the parent just before the pool forks, so workers inherit the analysis
#: (linker, classifier, facts) instead of receiving a pickled copy per file.
_FORKED_STATE: _RewriteState | None = None


def _rewrite_in_worker(item: tuple[str, list[Finding]]) -> FileChange:
    assert _FORKED_STATE is not None
    return _fix_one(_FORKED_STATE, item)


def _fix_one(state: _RewriteState, item: tuple[str, list[Finding]]) -> FileChange:
    relpath, findings = item
    return _fix_file(
        state.analysis,
        state.root,
        relpath,
        findings,
        state.rules,
        state.style,
        state.config,
        state.allowed,
    )


def _rewrite_all(
    state: _RewriteState, work: list[tuple[str, list[Finding]]], jobs: int
) -> Iterator[FileChange]:
    """Rewrite each file, in a forked pool when there are enough of them (results in order)."""
    import multiprocessing

    global _FORKED_STATE
    if (
        len(work) < _PARALLEL_REWRITES
        or jobs <= 1
        or "fork" not in multiprocessing.get_all_start_methods()
    ):
        for item in work:
            yield _fix_one(state, item)
        return
    from concurrent.futures import ProcessPoolExecutor

    _FORKED_STATE = state
    try:
        context = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(max_workers=min(jobs, len(work)), mp_context=context) as pool:
            yield from pool.map(_rewrite_in_worker, work, chunksize=max(1, len(work) // (jobs * 8)))
    finally:
        _FORKED_STATE = None


def _fix_file(
    analysis: Analysis,
    root: Path,
    relpath: str,
    findings: list[Finding],
    rules: RuleSet,
    style: Style,
    config: Config,
    allowed: frozenset[str] | None = None,
) -> FileChange:
    absolute = root / relpath
    try:
        original = absolute.read_bytes()
        source = decode(original)
    except (OSError, SourceError) as error:
        return FileChange(relpath, absolute, b"", None, (), f"cannot read: {error}")
    module, is_package = module_name(relpath, root, config.source_roots)
    rewriter = FileRewriter(analysis, rules, style, relpath, module, is_package, config)
    try:
        text, rewritten = rewriter.rewrite(source.text, findings, allowed)
        injected = rewriter.injected
        if text == source.text:
            return FileChange(relpath, absolute, original, None, ())
        problem = verify(text, relpath)
        if problem is None:
            again, _ = rewriter.rewrite(text, None, allowed)
            if again != text:
                problem = (
                    "a second run would change the result again (not idempotent); left unchanged"
                )
        if problem is not None:
            return FileChange(relpath, absolute, original, None, (), problem)
        return FileChange(
            relpath,
            absolute,
            original,
            encode(source, text),
            tuple(rewritten),
            injected=tuple(injected),
        )
    except ExtractionError as error:
        # The codemods' own output did not parse again (the re-analysis between the
        # passes, or the idempotence run): nothing is written.
        return FileChange(
            relpath,
            absolute,
            original,
            None,
            (),
            f"rewrite does not parse ({error}); left unchanged",
        )
    except RecursionError:
        return FileChange(
            relpath, absolute, original, None, (), "too deeply nested to rewrite; left unchanged"
        )
    except Exception as error:
        return FileChange(
            relpath,
            absolute,
            original,
            None,
            (),
            f"internal error while rewriting ({type(error).__name__}: {error}); left unchanged, please report it",
        )


def verify(text: str, relpath: str) -> str | None:
    """None when CPython would compile `text`, else why not.

    That LibCST parses it too is shown by the idempotence run that follows, which
    parses the text again; parsing it here as well cost a third of the rewrite time.
    """
    try:
        # The user's own oddities (`"str"()`, `x is 1`) warn on compile; they are not ours to print.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            compile(text, relpath, "exec", dont_inherit=True)
    except SyntaxError as error:
        return f"rewrite does not compile ({error.msg}, line {error.lineno}); left unchanged"
    return None


class FileRewriter:
    """Runs the codemods over one file's text, re-analysing between them."""

    def __init__(
        self,
        analysis: Analysis,
        rules: RuleSet,
        style: Style,
        relpath: str,
        module: str,
        is_package: bool,
        config: Config,
    ) -> None:
        self.analysis = analysis
        self.rules = rules
        self.style = style
        self.relpath = relpath
        self.module = module
        self.is_package = is_package
        self.test_code = is_test_path(relpath, config.test_patterns)
        self.names = rules.search_names() | analysis.linker.discovered_names()
        #: Functions the last `rewrite` gave the test-context fixture.
        self.injected: list[str] = []

    def findings(self, text: str) -> list[Finding]:
        from migrator.engine import apply_suppressions
        from migrator.extract import extract

        facts = extract(text, self.relpath, self.module, self.is_package, self.names)
        found = self.analysis.classifier.findings(facts, self.test_code)
        return apply_suppressions(found, {self.relpath: facts})

    def rewrite(
        self, text: str, findings: list[Finding] | None, allowed: frozenset[str] | None = None
    ) -> tuple[str, list[tuple[Finding, FixAction]]]:
        """Rewrite `text`; only sites whose fingerprint is in `allowed`, when it is given."""
        from migrator.codemods.context_manager import RewriteToContextManager
        from migrator.codemods.factory_call import RewriteToFactory
        from migrator.codemods.inject_fixture import InjectFixture

        done: list[tuple[Finding, FixAction]] = []
        original = text
        current = self._only(findings if findings is not None else self.findings(text), allowed)
        context = CodemodContext(filename=self.relpath, full_module_name=self.module)
        self.injected = []
        if any(
            _is(f, FixAction.FACTORY, FixAction.CONTEXT_MANAGER, FixAction.DIRECT)
            and f.fix
            and f.fix.inject
            for f in current
        ):
            # Tests gain the fixture first; re-analysed, their sites then have it as context.
            inject = InjectFixture(CodemodContext(filename=self.relpath), current)
            text = inject.transform_module(cst.parse_module(text)).code
            self.injected = list(inject.injected)
            current = self._only(self.findings(text), allowed)
        if any(_is(f, FixAction.DIRECT) and f.kind is not Kind.DIRECT_SCOPED for f in current):
            from migrator.codemods.direct_construction import BuildDirectly

            direct = BuildDirectly(CodemodContext(filename=self.relpath), self.rules, current)
            text = direct.transform_module(cst.parse_module(text)).code
            done.extend((f, FixAction.DIRECT) for f in direct.rewritten)
            current = self._only(self.findings(text), allowed)
        if self.style is not Style.FACTORY and any(
            _is(f, FixAction.CONTEXT_MANAGER) for f in current
        ):
            manager = RewriteToContextManager(context, self.rules, current)
            text = manager.transform_module(cst.parse_module(text)).code
            done.extend((f, FixAction.CONTEXT_MANAGER) for f in manager.rewritten)
            current = self._only(self.findings(text), allowed)
        wanted = [FixAction.FACTORY] + (
            [FixAction.CONTEXT_MANAGER] if self.style is Style.FACTORY else []
        )
        if any(_is(f, *wanted) for f in current):
            factory = RewriteToFactory(
                context, self.rules, current, include_context_manager=self.style is Style.FACTORY
            )
            text = factory.transform_module(cst.parse_module(text)).code
            done.extend((f, FixAction.FACTORY) for f in factory.rewritten)
        return restore_layout(original, text), done

    @staticmethod
    def _only(findings: list[Finding], allowed: frozenset[str] | None) -> list[Finding]:
        # Fingerprints are anchored on code, not lines, so they survive the first pass.
        if allowed is None:
            return findings
        return [f for f in findings if f.fingerprint in allowed]


def _direct_done(finding: Finding) -> bool:
    """A `direct-scoped` site the pack accepts as it is (`sync: direct`): nothing is left to do."""
    return _is(finding, FixAction.DIRECT) and finding.kind is Kind.DIRECT_SCOPED


def _is(finding: Finding, *actions: FixAction) -> bool:
    return finding.fix is not None and finding.fix.action in actions and not finding.suppressed


@dataclass(frozen=True)
class SitePreview:
    """One site's rewrite on its own, for `fix --interactive`."""

    path: str
    finding: Finding
    action: FixAction
    diff: str


def preview_sites(
    config: Config, rules: RuleSet, paths: Sequence[str] | None = None, *, style: Style = Style.AUTO
) -> list[SitePreview]:
    """Every rewritable site with the diff of rewriting it alone, in file and line order."""
    analysis = analyse(config, rules, paths)
    root = Path(analysis.result.root)
    previews: list[SitePreview] = []
    for finding in sorted(
        analysis.result.findings, key=lambda f: (f.path, f.span.line, f.span.column)
    ):
        if not _is(finding, FixAction.FACTORY, FixAction.CONTEXT_MANAGER, FixAction.DIRECT):
            continue
        if _direct_done(finding):
            continue
        try:
            source = decode((root / finding.path).read_bytes())
        except (OSError, SourceError):
            continue
        module, is_package = module_name(finding.path, root, config.source_roots)
        rewriter = FileRewriter(analysis, rules, style, finding.path, module, is_package, config)
        text, done = rewriter.rewrite(source.text, None, frozenset({finding.fingerprint}))
        if not done or verify(text, finding.path) is not None:
            continue
        diff = unified_diff(finding.path, source.text, text)
        previews.append(SitePreview(finding.path, finding, done[0][1], diff))
    return previews


def write_changes(
    result: FixPlanResult, root: Path, accept: Callable[[FileChange], bool] | None = None
) -> FixPlanResult:
    """Write every verified change (that `accept` allows); refusals are collected, not raised."""
    from migrator.writer import sweep_stale_temporaries

    written: list[str] = []
    errors: list[tuple[str, str]] = []
    # Temporary files of a run that was killed mid-write are removed before writing again.
    for folder in sorted({change.absolute.parent for change in result.changes}):
        sweep_stale_temporaries(folder)
    for change in result.changes:
        if change.error is not None:
            errors.append((change.path, change.error))
            continue
        if not change.changed or change.new is None:
            continue
        if accept is not None and not accept(change):
            continue
        try:
            if change.created:
                create_atomic(change.absolute, change.new, root=root)
            else:
                write_atomic(change.absolute, change.new, root=root, expected=change.original)
            written.append(change.path)
        except WriteRefused as error:
            errors.append((change.path, str(error)))
    return FixPlanResult(
        audit=result.audit,
        changes=result.changes,
        left=result.left,
        written=tuple(written),
        write_errors=tuple(errors),
    )


def unified_diff(path: str, old: str, new: str) -> str:
    """A unified diff of one file, as `git apply` and `patch` read it."""
    import difflib

    lines = difflib.unified_diff(
        old.splitlines(keepends=True),
        new.splitlines(keepends=True),
        fromfile=f"a/{path}",
        tofile=f"b/{path}",
    )
    return "".join(
        line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines
    )


def change_diff(change: FileChange) -> str:
    """The diff of a planned change; empty when the file would not change."""
    if change.new is None:
        return ""
    return unified_diff(change.path, decode(change.original).text, decode(change.new).text)
