"""`migrator report`: how far the migration has come; `migrator report merge`: join audit shards."""

from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

import typer
from typer.core import TyperGroup

from migrator.cli.common import (
    EXIT_OK,
    config_option,
    fail,
    jobs_option,
    no_cache_option,
    parse_kinds,
    require_paths,
    root_option,
    rules_option,
    setup,
    write_output,
)
from migrator.reports import formats

# Typer offers an Enum's values as choices: these are made from the registry of
# formats, so that a new format needs no change here. mypy sees a plain Enum.
if TYPE_CHECKING:
    from migrator.rules import RulePack

    ReportFormat = Enum
    MergeFormat = Enum
else:
    ReportFormat = formats.choices("progress")
    MergeFormat = formats.choices("audit", merge=True)

HELP = """Report how far the migration has come: overall and per package, by kind,
production against test code, the files with the most sites, the manual work
grouped by reason, and (with --history or --since) the trend over git commits.

`migrator report merge FILE...` joins the JSON outputs of `migrator audit
--shard I/N --format json` into one audit result."""


class _ReportGroup(TyperGroup):
    """`report [PATH...] [OPTIONS]` runs the report; `report merge ...` runs the subcommand.

    A group's variadic PATH argument would swallow the subcommand's name, and a
    group stops reading options at its first argument; so when the first word is
    a subcommand it is handed over untouched, and otherwise options may come
    after the paths, as with every other command.
    """

    allow_interspersed_args = True

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if args and args[0] in self.commands:
            super().parse_args(ctx, [])
            # Click >= 8.2 (and the Click vendored by recent Typer) keep the
            # subcommand in `_protected_args`; older Click in `protected_args`.
            if hasattr(ctx, "_protected_args"):
                ctx._protected_args = args[:1]
            else:  # pragma: no cover - Click < 8.2
                ctx.protected_args = args[:1]
            ctx.args = list(args[1:])
            return list(ctx.args)
        return list(super().parse_args(ctx, args))


app = typer.Typer(
    cls=_ReportGroup,
    invoke_without_command=True,
    subcommand_metavar="| merge FILE... [OPTIONS]",
    add_completion=False,
    rich_markup_mode=None,
    help=HELP,
    context_settings={"help_option_names": ["-h", "--help"]},
)


@app.callback(invoke_without_command=True)
def report_command(
    ctx: typer.Context,
    paths: Optional[list[str]] = typer.Argument(
        None, help="Files or folders to report on (default: the configured paths, else '.')."
    ),
    format: ReportFormat = typer.Option(
        ReportFormat("console"),
        "--format",
        "-f",
        help=formats.option_help("progress"),
    ),
    output: Optional[Path] = typer.Option(
        None, "--output", "-o", help="Write the report to FILE instead of stdout."
    ),
    depth: int = typer.Option(
        2, "--depth", min=0, help="Folder depth that makes a package (pkg/sub at 2)."
    ),
    top: int = typer.Option(10, "--top", min=0, help="How many files to list with the most sites."),
    history: Optional[int] = typer.Option(
        None,
        "--history",
        min=1,
        help="Also count at each of the last N commits that touched Python files (read from "
        "git objects; the working tree is not touched).",
    ),
    since: Optional[str] = typer.Option(
        None, "--since", help="Like --history, for every such commit after this git ref."
    ),
    baseline: Optional[Path] = typer.Option(
        None, "--baseline", help="Mark the sites listed in this baseline file as baselined."
    ),
    fail_on: Optional[str] = typer.Option(
        None, "--fail-on", help="Comma-separated kinds counted as blocking (default: configured)."
    ),
    jobs: Optional[int] = jobs_option(),
    rules: Optional[list[str]] = rules_option(),
    root: Optional[Path] = root_option(),
    config_file: Optional[Path] = config_option(),
    no_cache: bool = no_cache_option(),
    title: str = typer.Option("Migration progress", "--title", help="Title of the HTML report."),
) -> None:
    if ctx.invoked_subcommand is not None:
        return
    from migrator.engine import analyse
    from migrator.gate import split_fail_on
    from migrator.reports.progress.model import build_report
    from migrator.suppress import with_suppression_review

    config, rule_set, chosen = setup(
        paths, root, config_file, rules, jobs=jobs, cache=False if no_cache else None
    )
    require_paths(chosen)
    kinds = (
        parse_kinds(fail_on, "--fail-on")
        if fail_on is not None
        else split_fail_on(config.fail_on)[0]
    )
    analysis = analyse(config, rule_set, chosen)
    result = with_suppression_review(analysis.result, analysis.facts)
    baseline_path = baseline or (config.root / config.baseline if config.baseline else None)
    if baseline_path is not None and baseline_path.exists():
        from migrator.baseline import apply_baseline, load_baseline

        try:
            result = apply_baseline(result, load_baseline(baseline_path))
        except ValueError as error:
            fail(str(error))
    elif baseline is not None:
        fail(f"--baseline {baseline}: no such file")

    points: tuple[Any, ...] = ()
    note: str | None = None
    if history is not None or since is not None:
        from migrator.gitutil import GitError
        from migrator.history import read_history

        try:
            found = read_history(
                config, rule_set, count=history, since=since, paths=_relative(config.root, chosen)
            )
        except GitError as error:
            fail(f"--history: {error}")
        points = found.points
        if not points:
            note = "No commit touched Python files in the range asked for."
    report = build_report(
        result, fail_on=kinds, depth=depth, top=top, history=points, history_note=note
    )
    write_output(_render(format.value, report, title, output), output)
    raise typer.Exit(EXIT_OK)


def _shipped(pack_ids: tuple[str, ...]) -> tuple[RulePack, ...]:
    """The packs an audit names that ship with migrator: help texts come from them.

    A pack given as a file is not recorded in the audit's JSON; its rules are then
    described from their findings.
    """
    from migrator.rules import RulePackError, builtin_packs, load_pack

    shipped = builtin_packs()
    packs: list[RulePack] = []
    for pack_id in pack_ids:
        if pack_id in shipped:
            try:
                packs.append(load_pack(shipped[pack_id]))
            except RulePackError:  # a broken installation: describe rules from findings
                continue
    return tuple(packs)


def _relative(root: Path, paths: list[str]) -> list[str]:
    """The chosen paths relative to the root (those outside it are dropped)."""
    out: list[str] = []
    base = root.resolve()
    for raw in paths:
        given = Path(raw)
        absolute = (given if given.is_absolute() else Path.cwd() / given).resolve()
        try:
            rel = absolute.relative_to(base).as_posix()
        except ValueError:
            continue
        out.append("" if rel == "." else rel)
    return out


def _render(format: str, report: Any, title: str, output: Path | None) -> str:
    from importlib import import_module

    module = import_module(formats.find("progress", format).module)
    if format == "console":
        from migrator.cli.terminal import DEFAULT_WIDTH, wants_colour, width
        from migrator.reports.common import rich_text

        to_stdout = output is None or str(output) == "-"
        return rich_text(
            module.render(report),
            width(sys.stdout) if to_stdout else DEFAULT_WIDTH,
            to_stdout and wants_colour(sys.stdout),
        )
    if format == "html":
        return str(module.render(report, title=title))
    return str(module.render(report))


@app.command("merge")
def merge_command(
    files: list[Path] = typer.Argument(
        ..., help="JSON outputs of `migrator audit --format json` (e.g. one per --shard)."
    ),
    format: MergeFormat = typer.Option(
        MergeFormat("json"),
        "--format",
        "-f",
        help=formats.option_help("audit", merge=True),
    ),
    output: Optional[Path] = typer.Option(
        None, "--output", "-o", help="Write the merged report to FILE instead of stdout."
    ),
    fail_on: Optional[str] = typer.Option(
        None,
        "--fail-on",
        help="Comma-separated kinds that block (default: the kinds the audits were run with).",
    ),
    check: bool = typer.Option(
        False,
        "--check",
        help="Exit 1 when the merged result has blocking sites or expired suppressions.",
    ),
) -> None:
    """Join the JSON outputs of sharded audits (or convert one) into one audit result."""
    from migrator.cli.audit import exit_code, render_for
    from migrator.reports.merge import MergeError, load_audit, merge

    try:
        result, kinds = merge([load_audit(path) for path in files])
    except MergeError as error:
        fail(str(error))
    if fail_on is not None:
        kinds = parse_kinds(fail_on, "--fail-on")
    for warning in result.warnings:
        if warning.startswith("merge:"):
            typer.echo(f"migrator: {warning}", err=True)
    # The shards' paths are relative to a root this command does not know: shown as they are.
    text = render_for(format.value, result, kinds, _shipped(result.rule_packs), None, output)
    write_output(text, output)
    raise typer.Exit(exit_code(result, kinds) if check else EXIT_OK)
