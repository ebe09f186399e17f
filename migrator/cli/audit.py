"""`migrator audit`: find every dispatcher creation site and gate CI on them."""

from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path
from typing import Optional

import typer

from migrator.cli.common import EXIT_BLOCKING, EXIT_OK, fail, parse_kinds, setup, write_output

HELP = """Find every dispatcher creation site, resolved by name, and say what each needs.

Exit code 0 when nothing blocks, 1 when a site of a --fail-on kind is found
(not suppressed, not baselined), 2 on a usage, configuration or rule error."""


class AuditFormat(str, Enum):
    console = "console"
    json = "json"
    sarif = "sarif"
    junit = "junit"
    github = "github"
    markdown = "markdown"


def audit_command(
    paths: Optional[list[str]] = typer.Argument(None, help="Files or folders to audit (default: the configured paths, else '.')."),
    format: AuditFormat = typer.Option(AuditFormat.console, "--format", "-f", help="Output format."),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Write the report to FILE instead of stdout."),
    baseline: Optional[Path] = typer.Option(None, "--baseline", help="Tolerate the sites listed in this baseline file."),
    write_baseline: Optional[Path] = typer.Option(None, "--write-baseline", help="Write the current sites to FILE as a baseline."),
    fail_on: Optional[str] = typer.Option(None, "--fail-on", help="Comma-separated kinds that block (default: singleton,legacy-factory,super-init-none)."),
    jobs: Optional[int] = typer.Option(None, "--jobs", "-j", min=0, help="Parallel workers (default: all cores; 1 = no pool)."),
    rules: Optional[list[str]] = typer.Option(None, "--rules", "-r", help="A rule pack file or shipped pack id; repeat for several."),
    root: Optional[Path] = typer.Option(None, "--root", help="The repository root (default: nearest folder with .git or a migrator config)."),
    config_file: Optional[Path] = typer.Option(None, "--config", help="Read settings from this file instead of the root's pyproject.toml."),
    no_cache: bool = typer.Option(False, "--no-cache", help="Neither read nor write the .migrator_cache folder."),
    changed_since: Optional[str] = typer.Option(None, "--changed-since", help="Report only Python files changed since this git ref."),
    shard: Optional[str] = typer.Option(None, "--shard", help="I/N: report only this deterministic share of the files."),
) -> None:
    from rich.console import Console

    from migrator.engine import analyse
    from migrator.model import Kind

    config, rule_set, chosen = setup(
        paths, root, config_file, rules, jobs=jobs, cache=False if no_cache else None
    )
    kinds = parse_kinds(fail_on, "--fail-on") if fail_on is not None else tuple(Kind(k) for k in config.fail_on)
    only = _restrict(config.root, chosen, changed_since, shard)
    err = Console(stderr=True)
    progress_cb, finish = _progress(err)
    try:
        analysis = analyse(config, rule_set, chosen, progress=progress_cb, only=only)
    finally:
        finish()
    result = analysis.result
    baseline_path = baseline or (Path(config.root / config.baseline) if config.baseline else None)
    if baseline_path is not None or write_baseline is not None:
        from migrator.baseline import apply_baseline, load_baseline, save_baseline

        if write_baseline is not None:
            save_baseline(write_baseline, result)
            err.print(f"wrote a baseline of {len(result.findings)} site(s) to {write_baseline}")
        if baseline_path is not None:
            try:
                entries = load_baseline(baseline_path)
            except ValueError as error:
                fail(str(error))
            result = apply_baseline(result, entries)

    if format is AuditFormat.console:
        from migrator.reports.console import render as render_console

        if output is None:
            Console(highlight=False).print(render_console(result, kinds))
        else:
            capture = Console(record=True, width=120, file=open("/dev/null", "w"), highlight=False)  # noqa: SIM115
            capture.print(render_console(result, kinds))
            write_output(capture.export_text(), output)
    else:
        write_output(_render(format, result, kinds), output)
    blocking = any(f.kind in kinds and not f.suppressed and not f.baselined for f in result.findings)
    expired = any(w.startswith("expired suppression") for w in result.warnings)
    raise typer.Exit(EXIT_BLOCKING if blocking or expired else EXIT_OK)


def _render(format: AuditFormat, result: object, kinds: tuple[object, ...]) -> str:
    from importlib import import_module

    module = import_module(f"migrator.reports.{format.value}_report" if format is AuditFormat.json else f"migrator.reports.{format.value}")
    text: str = module.render(result, kinds)
    return text


def _restrict(root: Path, paths: list[str], changed_since: str | None, shard: str | None) -> set[str] | None:
    """The files to report on, when --changed-since or --shard narrow the run."""
    if changed_since is None and shard is None:
        return None
    from migrator.discovery import discover

    files = {f.relpath for f in discover(root, paths).files}
    if changed_since is not None:
        from migrator.gitutil import GitError, changed_files

        try:
            files &= changed_files(root, changed_since)
        except GitError as error:
            fail(f"--changed-since {changed_since}: {error}")
    if shard is not None:
        from migrator.sharding import ShardError, in_shard, parse_shard

        try:
            index, count = parse_shard(shard)
        except ShardError as error:
            fail(f"--shard {shard}: {error}")
        files = {f for f in files if in_shard(f, index, count)}
    return files


def _progress(console: object):  # type: ignore[no-untyped-def]
    """A progress bar on stderr when it is a terminal; nothing otherwise."""
    if not sys.stderr.isatty():
        return None, lambda: None
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), transient=True, console=console)  # type: ignore[arg-type]
    tasks: dict[str, object] = {}
    started = False

    def update(stage: str, done: int, total: int) -> None:
        nonlocal started
        if total < 200 and stage == "read":
            return
        if not started:
            bar.start()
            started = True
        if stage not in tasks:
            tasks[stage] = bar.add_task("reading files" if stage == "read" else "analysing", total=total)
        bar.update(tasks[stage], completed=done, total=total)  # type: ignore[arg-type]

    def finish() -> None:
        if started:
            bar.stop()

    return update, finish
