"""`migrator fix`: rewrite creation sites to the factory or a context manager, only when certain."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import typer

from migrator.cli.common import (
    EXIT_BLOCKING,
    EXIT_OK,
    EXIT_USAGE,
    config_option,
    fail,
    jobs_option,
    no_cache_option,
    require_paths,
    root_option,
    rules_option,
    setup,
    write_output,
)

HELP = """Rewrite dispatcher creation sites to request-scoped factories, where certain.

Writes the rewrites (verified to parse, compile and be idempotent, written
atomically). --diff prints a unified diff instead; --check exits 1 if anything
would change. Sites left for a person are listed by reason."""


def fix_command(
    paths: Optional[list[str]] = typer.Argument(
        None, help="Files or folders to fix (default: the configured paths, else '.')."
    ),
    diff: bool = typer.Option(False, "--diff", help="Print a unified diff and write nothing."),
    check: bool = typer.Option(
        False, "--check", help="Write nothing; exit 1 if anything would change."
    ),
    style: str = typer.Option(
        "auto",
        "--style",
        help="auto|factory|context-manager: the rewrite preferred where both are safe (auto prefers the context manager).",
    ),
    interactive: bool = typer.Option(
        False,
        "--interactive",
        "-i",
        help="Show each planned rewrite on its own and ask apply/skip/quit (needs a terminal).",
    ),
    split_by: Optional[str] = typer.Option(
        None,
        "--split-by",
        help="With --diff and --output DIR: 'package' writes one patch per top-level package plus a description.",
    ),
    output: Optional[Path] = typer.Option(
        None,
        "--output",
        "-o",
        help="With --diff: write the patch to FILE (or, with --split-by, into DIR).",
    ),
    jobs: Optional[int] = jobs_option(),
    rules: Optional[list[str]] = rules_option(),
    root: Optional[Path] = root_option(),
    config_file: Optional[Path] = config_option(),
    no_cache: bool = no_cache_option(),
) -> None:
    from migrator.cli.terminal import colour_diff, console, wants_colour
    from migrator.fixer import Style, change_diff, plan_fixes, write_changes

    try:
        chosen_style = Style(style)
    except ValueError:
        fail(f"--style {style!r}: expected auto, factory or context-manager")
    if split_by is not None and (split_by != "package" or not diff or output is None):
        fail("--split-by package needs --diff and --output DIR")
    if output is not None and not diff:
        # Without --diff, fix writes the files in place: an --output would be silently ignored.
        fail(f"--output {output} needs --diff (fix writes the files themselves otherwise)")
    if interactive and (diff or check):
        fail("--interactive cannot be combined with --diff or --check")
    if interactive and not sys.stdin.isatty():
        fail("--interactive needs a terminal on standard input; use --diff to review instead")
    config, rule_set, chosen = setup(
        paths, root, config_file, rules, jobs=jobs, cache=False if no_cache else None
    )
    require_paths(chosen)
    err = console(stderr=True)
    allowed = _choose_sites(err, config, rule_set, chosen, chosen_style) if interactive else None
    result = plan_fixes(config, rule_set, chosen, style=chosen_style, allowed=allowed)
    changed = [c for c in result.changes if c.changed]

    if diff:
        if split_by == "package" and output is not None:
            from migrator.patches import write_split_patches

            written = write_split_patches(result, output)
            patches = sum(1 for path in written if path.suffix == ".patch")
            err.print(
                f"wrote {patches} patch file(s) and {len(written) - patches} "
                f"description(s) to {output}"
            )
        else:
            text = "".join(change_diff(c) for c in changed)
            if output is not None:
                write_output(text, output)
            else:
                # Never through a Rich renderable: it would crop long lines at the width.
                sys.stdout.write(colour_diff(text) if wants_colour(sys.stdout) else text)
                sys.stdout.flush()
    elif not check:
        result = write_changes(result, config.root)
    _summary(err, result, written=not diff and not check)
    if check:
        raise typer.Exit(EXIT_BLOCKING if changed else EXIT_OK)
    unplanned = {c.path for c in result.changes if c.error}
    if not diff and any(path not in unplanned for path, _ in result.write_errors):
        # A file that was meant to change and did not (a full disk, a read-only file)
        # must not look like success to a script or CI: exit 2, as audit does on errors.
        raise typer.Exit(EXIT_USAGE)
    raise typer.Exit(EXIT_OK)


def _choose_sites(
    console: object, config: object, rule_set: object, paths: list[str], style: object
) -> frozenset[str]:
    """Show each planned rewrite on its own and ask apply / skip / quit; returns the chosen sites."""
    from rich.console import Console

    from migrator.cli.terminal import colour_diff, wants_colour
    from migrator.fixer import preview_sites

    assert isinstance(console, Console)
    previews = preview_sites(config, rule_set, paths, style=style)  # type: ignore[arg-type]
    chosen: set[str] = set()
    for index, preview in enumerate(previews, start=1):
        finding = preview.finding
        # Written as they are: a rule or a Syntax would crop the path and long lines.
        heading = f"── {index}/{len(previews)}  {finding.path}:{finding.line}  {finding.kind.value} → {preview.action.value}"
        patch = colour_diff(preview.diff) if wants_colour(console.file) else preview.diff
        console.file.write(f"{heading}\n{patch}")
        console.file.flush()
        while True:
            answer = (
                typer.prompt("apply this site? [a]pply / [s]kip / [q]uit", default="a")
                .strip()
                .lower()
            )
            if answer in {"a", "apply", "y", "yes", "s", "skip", "n", "no", "q", "quit"}:
                break
        if answer in {"q", "quit"}:
            break
        if answer in {"a", "apply", "y", "yes"}:
            chosen.add(finding.fingerprint)
    return frozenset(chosen)


def _summary(console: object, result: object, *, written: bool) -> None:
    from rich.console import Console
    from rich.table import Table

    from migrator.fixer import FixPlanResult

    assert isinstance(console, Console) and isinstance(result, FixPlanResult)
    changed = [c for c in result.changes if c.changed]
    verb = "changed" if written else "would change"
    count = len(result.written) if written else len(changed)
    console.print(f"{count} file(s) {verb}")
    by_action = result.rewritten_by_action()
    for action, number in sorted(by_action.items()):
        console.print(f"  {number} site(s) rewritten to {action}")
    for line in result.test_context_lines():
        console.print(f"  {line}")
    left = result.left_by_reason()
    if left:
        table = Table(title="Sites left for a person", title_justify="left", show_edge=False)
        # A long path must not squeeze the other columns to "…": it folds instead.
        table.add_column("reason", min_width=16)
        table.add_column("sites", justify="right", no_wrap=True)
        table.add_column("first", overflow="fold", ratio=1)
        for reason, number in left.most_common():
            first = next(
                f
                for f in result.left
                if f.fix is not None
                and (f.fix.reason or f"{f.fix.action.value} (not applied)") == reason
            )
            table.add_row(reason, str(number), f"{first.path}:{first.line}")
        console.print(table)
    for path, message in [
        *result.write_errors,
        *[(c.path, c.error) for c in result.changes if c.error and not written],
    ]:
        console.print(f"[yellow]not changed[/]: {path}: {message}")
    for error in result.audit.errors:
        console.print(f"[yellow]skipped[/]: {error.path}: {error.message}")
