"""Helpers shared by the commands: loading configuration and rules, errors, output."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import typer

from migrator.model import Kind

if TYPE_CHECKING:
    # Imported where used: `migrator --help` should not pay for YAML and TOML parsing.
    from migrator.config import Config
    from migrator.rules import RuleSet

EXIT_OK = 0
EXIT_BLOCKING = 1
EXIT_USAGE = 2


# The options every analysing command takes, declared once so that their flags and
# help read the same everywhere. Each call makes a fresh OptionInfo per command.


def jobs_option() -> Any:
    return typer.Option(
        None, "--jobs", "-j", min=0, help="Parallel workers (default: all cores; 1 = no pool)."
    )


def rules_option() -> Any:
    return typer.Option(
        None,
        "--rules",
        "-r",
        help="A rule pack file or shipped pack id; repeat for several. Given, it REPLACES the "
        "default pack (tool-dispatcher); to add a pack to it, pass both: "
        "--rules tool-dispatcher --rules my-pack.yaml (or list both under rules = [...] in "
        "[tool.migrator]).",
    )


def root_option() -> Any:
    return typer.Option(
        None,
        "--root",
        help="The repository root (default: nearest folder with .git or a migrator config).",
    )


def config_option() -> Any:
    return typer.Option(
        None, "--config", help="Read settings from this file instead of the root's pyproject.toml."
    )


def no_cache_option() -> Any:
    return typer.Option(
        False, "--no-cache", help="Neither read nor write the .migrator_cache folder."
    )


def fail(message: str) -> NoReturn:
    """Print a one-line error for people and exit with the usage/configuration code."""
    typer.echo(f"migrator: error: {message}", err=True)
    raise typer.Exit(EXIT_USAGE)


def setup(
    paths: Sequence[str] | None,
    root: Path | None,
    config_file: Path | None,
    rules: Sequence[str] | None,
    **overrides: object,
) -> tuple[Config, RuleSet, list[str]]:
    """Find the root, read the configuration, apply options, load the rule packs."""
    from migrator.config import ConfigError, find_root, load_config
    from migrator.rules import RulePackError, load_rule_set

    first = Path(paths[0]) if paths else Path.cwd()
    if root is not None:
        if not root.is_dir():
            fail(f"--root {root}: no such folder")
        resolved_root = root.resolve()
    else:
        resolved_root = find_root(first if first.exists() else Path.cwd())
    try:
        config = load_config(resolved_root, config_file)
    except ConfigError as error:
        fail(str(error))
    config = config.with_overrides(rules=tuple(rules) if rules else None, **overrides)
    try:
        rule_set = load_rule_set(config.rules)
    except RulePackError as error:
        fail(f"bad rule pack: {error}")
    chosen = list(paths) if paths else list(config.paths)
    if not paths and config.source is not None:
        # Paths in the configuration are relative to the root, not the current folder.
        chosen = [str(resolved_root / p) for p in chosen]
    return config, rule_set, chosen


def require_paths(chosen: Sequence[str]) -> None:
    """Exit 2 when a PATH argument does not exist: `fix --check` or `report` on a mistyped
    path must not pass (or say 100 %) on nothing. `audit` reports it as an error instead."""
    missing = [p for p in chosen if not Path(p).exists()]
    if missing:
        fail(f"{missing[0]}: no such file or folder")


def parse_kinds(text: str, option: str) -> tuple[Kind, ...]:
    """The kinds of a `--fail-on` list (`migrator.gate.split_fail_on`); exit 2 when it is bad."""
    from migrator.gate import split_fail_on

    try:
        return split_fail_on(text.split(","))[0]
    except ValueError as error:
        fail(f"{option}: {error}")


def write_output(text: str, output: Path | None) -> None:
    """Write `text` to `output` (see `writer.write_document`), or to stdout."""
    if output is None:
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    from migrator.writer import write_document

    try:
        write_document(output, text.encode("utf-8"))
    except OSError as error:
        fail(f"cannot write {output}: {error.strerror or error}")
