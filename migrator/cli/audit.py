"""`migrator audit`: find every dispatcher creation site and gate CI on them."""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

import typer

from migrator.cli.common import (
    config_option,
    fail,
    jobs_option,
    no_cache_option,
    root_option,
    rules_option,
    setup,
    write_output,
)
from migrator.reports import formats

if TYPE_CHECKING:
    from rich.console import Console

    from migrator.basebranch import BaseBranch
    from migrator.baseline import BaselineEntry
    from migrator.config import Config
    from migrator.engine import Analysis
    from migrator.facts import FileFacts
    from migrator.model import AuditResult, FileError, Kind
    from migrator.rules import RulePack, RuleSet

# Typer offers an Enum's values as choices: this one is made from the registry of
# formats, so that a new format needs no change here. mypy sees a plain Enum.
if TYPE_CHECKING:
    AuditFormat = Enum
else:
    AuditFormat = formats.choices("audit")

HELP = """Find every dispatcher creation site, resolved by name, and say what each needs.

Names are always resolved over the whole project root: PATH arguments (like
--changed-since and --shard) only choose which files are reported.

On a pull request, --config-from REF (the target branch) reads the configuration,
its rule packs and the baseline from REF, so the pull request cannot narrow the
gate; how the work tree's differ is reported as configuration changes.

Exit code 0 when nothing blocks; 1 when a site of a --fail-on kind is found
(not suppressed, not baselined; --strict adds `uncertain`) or a suppression has
expired; 2 when a file could not be analysed (a missing PATH, an unreadable file,
one that does not parse: the gate never passes on what it could not read; add
`error` to --fail-on to exit 1 instead, or name the file in `allow_skipped`),
and on a usage, configuration or rule error."""


Progress = Optional[Callable[[str, int, int], None]]


def audit_command(
    paths: Optional[list[str]] = typer.Argument(
        None, help="Files or folders to audit (default: the configured paths, else '.')."
    ),
    format: AuditFormat = typer.Option(
        AuditFormat("console"),
        "--format",
        "-f",
        help=formats.option_help("audit"),
    ),
    output: Optional[Path] = typer.Option(
        None, "--output", "-o", help="Write the report to FILE instead of stdout."
    ),
    baseline: Optional[Path] = typer.Option(
        None, "--baseline", help="Tolerate the sites listed in this baseline file."
    ),
    write_baseline: Optional[Path] = typer.Option(
        None, "--write-baseline", help="Write the current sites to FILE as a baseline."
    ),
    fail_on: Optional[str] = typer.Option(
        None,
        "--fail-on",
        help="Comma-separated kinds that block (default: singleton,legacy-factory,super-init-none); "
        "`error` makes files that could not be analysed exit 1 instead of 2.",
    ),
    strict: bool = typer.Option(
        False,
        "--strict",
        help="`uncertain` sites block too (a site the analysis cannot decide is not a pass).",
    ),
    jobs: Optional[int] = jobs_option(),
    rules: Optional[list[str]] = rules_option(),
    root: Optional[Path] = root_option(),
    config_file: Optional[Path] = config_option(),
    no_cache: bool = no_cache_option(),
    changed_since: Optional[str] = typer.Option(
        None,
        "--changed-since",
        help="Report only Python files changed since this git ref (aliases still resolved "
        "over the whole tree).",
    ),
    config_from: Optional[str] = typer.Option(
        None,
        "--config-from",
        metavar="REF",
        help="Read the configuration, the rule packs it names and the baseline from this git "
        "ref (the target branch of a pull request) instead of the work tree; report how the "
        "work tree's differ.",
    ),
    shard: Optional[str] = typer.Option(
        None,
        "--shard",
        help="I/N (1-based): analyse and report only this deterministic share of the files "
        "(the others are only linked, so aliases resolve as in a full run); join the JSON "
        "outputs with `migrator report merge`.",
    ),
) -> None:
    from migrator.cli.terminal import console
    from migrator.engine import analyse
    from migrator.gate import allow_errors, split_fail_on, verdict
    from migrator.model import Kind
    from migrator.suppress import with_suppression_review

    config, rule_set, chosen = setup(
        paths, root, config_file, rules, jobs=jobs, cache=False if no_cache else None
    )
    base: BaseBranch | None = None
    if config_from is not None:
        if config_file is not None:
            fail("--config-from reads the configuration from a git ref: drop --config")
        config, rule_set, chosen, base = _from_base(
            config, config_from, paths, rules, baseline, jobs=jobs, no_cache=no_cache
        )
    try:
        kinds, errors_block = split_fail_on(
            fail_on.split(",") if fail_on is not None else config.fail_on
        )
    except ValueError as error:
        fail(f"--fail-on: {error}" if fail_on is not None else f"fail_on: {error}")
    if strict and Kind.UNCERTAIN not in kinds:
        kinds = (*kinds, Kind.UNCERTAIN)
    shard_spec = _parse_shard(shard) if shard is not None else None
    if write_baseline is not None and (changed_since is not None or shard is not None):
        fail(
            "--write-baseline records every site, so it needs a full run: "
            "drop --changed-since and --shard"
        )
    root_dir = config.root.resolve()
    only, path_errors = _reported(config, chosen, changed_since)
    in_scope = _scope(root_dir, chosen, only, shard_spec)
    # Baseline entries can be gone only where this run looked, and not in a file
    # that exists but is excluded or git-ignored: its sites were not looked for.
    can_be_gone = _not_excluded(config, in_scope)
    err = console(stderr=True)
    if only is not None and not only:
        result = _empty(config, chosen)
        if changed_since is not None:
            err.print(f"no Python files changed since {changed_since}; nothing to audit")
    else:
        progress_cb, finish = _progress(err)

        def run(report: set[str] | None) -> Analysis:
            # The whole root, always: a name defined or re-exported outside the
            # reported files still resolves (`report` chooses what is reported).
            return analyse(
                config,
                rule_set,
                [str(root_dir)],
                progress=progress_cb,
                only=report,
                shard=shard_spec,
            )

        try:
            analysis = run(only)
            if changed_since is not None and only is not None:
                # A changed module that defines or re-exports a name, or a base
                # class, changes what its importers' calls are: report them too.
                wider = _importers(analysis.facts, only)
                if wider - only:
                    only.update(wider)
                    analysis = run(only)
        finally:
            finish()
        result = with_suppression_review(analysis.result, analysis.facts, in_scope)
        result = _with_errors(result, path_errors)
    result = allow_errors(result, config.allow_skipped)

    baseline_path = baseline or (root_dir / config.baseline if config.baseline else None)
    if base is not None:
        result = _with_base(result, base, can_be_gone)
        if base.baseline_source is not None or baseline is None:
            # The base's baseline was applied (or it has none). A --baseline
            # outside the repository is not the pull request's: read it as given.
            baseline_path = None
    if write_baseline is not None or baseline_path is not None:
        from migrator.baseline import apply_baseline, entries_of, load_baseline, save_baseline

        if write_baseline is not None:
            try:
                count = save_baseline(write_baseline, result)
            except ValueError as error:
                fail(str(error))
            err.print(f"wrote a baseline of {count} site(s) to {write_baseline}")
            if baseline_path is None:
                # The baseline just written tolerates every site it records: the run that
                # records it passes (unless files could not be analysed), so a one-time
                # `--write-baseline` step does not stop a `set -e` script.
                result = apply_baseline(result, entries_of(result), can_be_gone)
        if baseline_path is not None:
            try:
                entries = load_baseline(baseline_path)
            except ValueError as error:
                fail(str(error))
            shown = str(baseline) if baseline is not None else config.baseline
            result = apply_baseline(result, entries, can_be_gone, source=shown)

    result = _annotate(result, kinds, shard_spec, changed_since, strict)
    write_output(render_for(format.value, result, kinds, rule_set.packs, root_dir, output), output)
    raise typer.Exit(verdict(result, kinds).exit_code(errors_block))


def exit_code(result: AuditResult, kinds: tuple[Kind, ...]) -> int:
    """The gate's exit code for `result` (`migrator.gate.verdict`)."""
    from migrator.gate import verdict

    return verdict(result, kinds).exit_code()


def render_for(
    name: str,
    result: AuditResult,
    kinds: tuple[Kind, ...],
    packs: tuple[RulePack, ...],
    root: Path | None,
    output: Path | None,
) -> str:
    """The text of format `name` for where it goes: stdout (a terminal or not) or a file."""
    from migrator.cli.terminal import DEFAULT_WIDTH, is_terminal, wants_colour, width

    to_stdout = output is None or str(output) == "-"
    view = formats.View(
        fail_on=kinds,
        packs=packs,
        root=root,
        cwd=Path.cwd(),
        width=width(sys.stdout) if to_stdout else DEFAULT_WIDTH,
        colour=to_stdout and wants_colour(sys.stdout),
    )
    chosen = formats.resolve(name, terminal=to_stdout and is_terminal(sys.stdout))
    return formats.render(chosen, result, view)


def _annotate(
    result: AuditResult,
    kinds: tuple[Kind, ...],
    shard: tuple[int, int] | None,
    changed_since: str | None,
    strict: bool = False,
) -> AuditResult:
    """Record how the run was made, for `report merge` and for readers of the JSON."""
    from dataclasses import replace

    from migrator.model import DEFAULT_FAIL_ON

    extra: dict[str, Any] = dict(result.extra)
    if set(kinds) != set(DEFAULT_FAIL_ON):
        # Only when it is not the default, so that a default run's document is the plain contract.
        extra["fail_on"] = [kind.value for kind in kinds]
    if shard is not None:
        extra["shard"] = {"index": shard[0], "count": shard[1]}
    if changed_since is not None:
        extra["changed_since"] = changed_since
    if strict:
        extra["strict"] = True
    return replace(result, extra=extra)


def _parse_shard(text: str) -> tuple[int, int]:
    from migrator.sharding import ShardError, parse_shard

    try:
        return parse_shard(text)
    except ShardError as error:
        fail(f"--shard {text}: {error}")


def _from_base(
    work: Config,
    ref: str,
    paths: list[str] | None,
    rules: list[str] | None,
    baseline: Path | None,
    *,
    jobs: int | None,
    no_cache: bool,
) -> tuple[Config, RuleSet, list[str], BaseBranch]:
    """The configuration, rules and paths of `ref` for this run, and what the work tree changes.

    Options given on the command line still win: the command line is the CI's own.
    """
    import dataclasses

    from migrator.basebranch import changes, load_base, materialise_rules
    from migrator.config import ConfigError
    from migrator.gitutil import GitError
    from migrator.rules import RulePackError, load_rule_set

    root = work.root.resolve()
    try:
        loaded = load_base(root, ref, baseline)
    except (GitError, ConfigError, ValueError) as error:
        fail(f"--config-from {ref}: {error}")
    overrides: dict[str, Any] = {
        "jobs": jobs,
        "cache": False if no_cache else None,
        "rules": tuple(rules) if rules else None,
    }
    config = loaded.config.with_overrides(**overrides)
    work_baseline = _work_baseline(work, baseline)
    found = changes(dataclasses.replace(loaded, config=config), work, work_baseline)
    with tempfile.TemporaryDirectory(prefix="migrator-base-") as folder:
        packs = config.rules if rules else materialise_rules(root, loaded, Path(folder))
        try:
            rule_set = load_rule_set(packs)
        except RulePackError as error:
            fail(f"--config-from {ref}: bad rule pack: {error}")
    chosen = list(paths) if paths else [str(root / p) for p in config.paths]
    return config, rule_set, chosen, dataclasses.replace(loaded, changes=tuple(found))


def _work_baseline(work: Config, baseline: Path | None) -> tuple[BaselineEntry, ...] | None:
    """The work tree's baseline, to compare with the base's (None when there is none)."""
    from migrator.baseline import load_baseline

    path = baseline or (work.root / work.baseline if work.baseline else None)
    if path is None:
        return None
    try:
        return load_baseline(path)
    except ValueError:
        return None  # a missing or broken work-tree baseline is not used anyway


def _with_base(
    result: AuditResult, base: BaseBranch, in_scope: Callable[[str], bool]
) -> AuditResult:
    """`result` with the base's baseline applied and the configuration changes reported."""
    from dataclasses import replace

    from migrator.baseline import apply_baseline

    if base.baseline is not None:
        result = apply_baseline(result, base.baseline, in_scope, source=base.baseline_source)
    if not base.changes:
        return result
    warnings = [*result.warnings, *(change.warning() for change in base.changes)]
    extra = dict(result.extra)
    extra["config_changes"] = {
        "base": base.ref,
        "changes": [change.to_json() for change in base.changes],
    }
    return replace(result, warnings=tuple(warnings), extra=extra)


def _reported(
    config: Config, paths: list[str], changed_since: str | None
) -> tuple[set[str] | None, tuple[FileError, ...]]:
    """The files to report on (None: all of them), and the errors of finding them.

    PATH arguments that do not cover the root, and --changed-since, narrow the
    report, never name resolution.
    """
    from migrator.discovery import discover
    from migrator.engine import covers_root
    from migrator.gitutil import GitError, changed_files

    root = config.root.resolve()
    if changed_since is None and covers_root(paths, root):
        return None, ()
    discovery = discover(
        root,
        paths,
        exclude=config.exclude,
        respect_gitignore=config.respect_gitignore,
    )
    files = {f.relpath for f in discovery.files}
    if changed_since is not None:
        try:
            files &= changed_files(root, changed_since)
        except GitError as error:
            fail(f"--changed-since {changed_since}: {error}")
    return files, discovery.errors


def _importers(facts: Mapping[str, FileFacts], changed: set[str]) -> set[str]:
    """`changed` and every analysed file whose imports reach one of them, directly or
    through another such file (a re-export of a re-export)."""
    affected = set(changed)
    reached = {facts[path].module for path in changed if path in facts}
    grew = bool(reached)
    while grew:
        grew = False
        for relpath, file_facts in facts.items():
            if relpath in affected:
                continue
            names = [
                *(binding.target for binding in file_facts.bindings),
                *(target for call in file_facts.calls for target in call.targets),
                *(base for cls in file_facts.classes for base in cls.bases),
            ]
            if any(_within(name, reached) for name in names):
                affected.add(relpath)
                reached.add(file_facts.module)
                grew = True
    return affected


def _within(name: str, modules: set[str]) -> bool:
    """Whether the qualified `name` is one of `modules` or something defined in one."""
    parts = name.split(".")
    return any(".".join(parts[:length]) in modules for length in range(1, len(parts) + 1))


def _with_errors(result: AuditResult, errors: tuple[FileError, ...]) -> AuditResult:
    """`result` with the errors of finding the reported files (a missing PATH) too."""
    from dataclasses import replace

    known = {e.path for e in result.errors}
    extra = tuple(e for e in errors if e.path not in known)
    if not extra:
        return result
    return replace(result, errors=tuple(sorted((*result.errors, *extra), key=lambda e: e.path)))


def _scope(
    root: Path, paths: list[str], only: set[str] | None, shard: tuple[int, int] | None
) -> Callable[[str], bool]:
    """Which relative paths this run looked at (for baseline entries that are gone)."""
    from migrator.gitutil import under

    prefixes: list[str] = []
    for raw in paths or ["."]:
        given = Path(raw)
        absolute = (given if given.is_absolute() else Path.cwd() / given).resolve()
        try:
            rel = absolute.relative_to(root).as_posix()
        except ValueError:
            continue
        prefixes.append("" if rel == "." else rel)

    from migrator.sharding import in_shard

    def inside(path: str) -> bool:
        return (
            (only is None or path in only)
            and (shard is None or in_shard(path, *shard))
            and under(path, prefixes)
        )

    return inside


def _not_excluded(config: Config, in_scope: Callable[[str], bool]) -> Callable[[str], bool]:
    """`in_scope`, less the files that exist but that discovery leaves out."""
    from migrator.discovery import discover

    root = config.root.resolve()
    found: dict[Path, set[str]] = {}

    def check(path: str) -> bool:
        if not in_scope(path):
            return False
        file = root / path
        if not file.is_file():
            return True  # deleted: gone indeed
        folder = file.parent
        if folder not in found:
            found[folder] = {
                source.relpath
                for source in discover(
                    root,
                    [str(folder)],
                    exclude=config.exclude,
                    respect_gitignore=config.respect_gitignore,
                ).files
            }
        return path in found[folder]

    return check


def _empty(config: Config, paths: list[str]) -> AuditResult:
    from migrator.discovery import discover
    from migrator.model import AuditResult

    discovery = discover(config.root.resolve(), paths, exclude=config.exclude)
    return AuditResult(
        root=str(config.root.resolve()),
        files_scanned=len(discovery.files),
        files_analysed=0,
        findings=(),
        errors=discovery.errors,
    )


def _progress(console: Console) -> tuple[Progress, Callable[[], None]]:
    """A progress bar on stderr when it is a terminal; nothing otherwise."""
    if not sys.stderr.isatty():
        return None, lambda: None
    from rich.progress import BarColumn, MofNCompleteColumn, TaskID, TextColumn
    from rich.progress import Progress as Bar

    # Refreshed from the callback, not by Rich's refresh thread: the engine forks
    # worker processes during the run, and a fork while another thread holds a
    # lock (stderr's, say) can leave the child stuck on it.
    bar = Bar(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        transient=True,
        console=console,
        auto_refresh=False,
    )
    tasks: dict[str, TaskID] = {}
    started = False
    last = 0.0

    def update(stage: str, done: int, total: int) -> None:
        nonlocal started, last
        if total < 200 and stage == "read":
            return
        if not started:
            bar.start()
            started = True
        if stage not in tasks:
            label = "reading files" if stage == "read" else "analysing"
            tasks[stage] = bar.add_task(label, total=total)
        bar.update(tasks[stage], completed=done, total=total)
        now = time.monotonic()
        if now - last >= 0.1 or done >= total:
            last = now
            bar.refresh()

    def finish() -> None:
        if started:
            bar.stop()

    return update, finish
