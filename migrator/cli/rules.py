"""`migrator rules list | show ID | check FILE`."""

from __future__ import annotations

from pathlib import Path

import typer

from migrator.cli.common import EXIT_OK, fail

app = typer.Typer(
    help="List, show and check rule packs.", no_args_is_help=True, rich_markup_mode=None
)


@app.command("list")
def list_command() -> None:
    """List the shipped rule packs and the rules in each."""
    from migrator.rules import RulePackError, builtin_packs, load_pack

    for pack_id, path in builtin_packs().items():
        try:
            pack = load_pack(path)
        except RulePackError as error:
            typer.echo(f"{pack_id}: BROKEN: {error}")
            continue
        typer.echo(f"{pack.id}  ({path.name})  {pack.description}")
        for rule in pack.classes:
            typer.echo(f"  {rule.id:<34} class    {rule.qualified_name}")
        for legacy in pack.legacy_factories:
            typer.echo(f"  {legacy.id:<34} legacy   {legacy.qualified_name}")


@app.command("show")
def show_command(rule_id: str = typer.Argument(..., help="A pack id or a rule id.")) -> None:
    """Show a pack (by id) or one rule (by id) in full."""
    from migrator.rules import RulePackError, builtin_packs, load_pack

    packs = []
    for path in builtin_packs().values():
        try:
            packs.append(load_pack(path))
        except RulePackError:
            continue
    for pack in packs:
        if pack.id == rule_id:
            typer.echo(Path(pack.source).read_text(encoding="utf-8"))
            raise typer.Exit(EXIT_OK)
        for rule in pack.classes:
            if rule.id == rule_id:
                typer.echo(f"{rule.id} (pack {pack.id})\n  class: {rule.qualified_name}")
                for alias in rule.aliases:
                    typer.echo(f"  alias: {alias}")
                typer.echo(f"  signature: ({', '.join(rule.signature)})")
                typer.echo(f"  context parameter: {rule.context_parameter}")
                typer.echo(f"  base __init__ without context: {rule.base_init_without_context}")
                for label, target in (
                    ("factory", rule.factory),
                    ("context manager", rule.context_manager),
                ):
                    if target is not None:
                        typer.echo(
                            f"  {label}: {target.qualified_name}({', '.join(target.parameters)})"
                        )
                for name, arg in rule.arguments:
                    extra = f" -> {arg.target}" if arg.target and arg.target != name else ""
                    typer.echo(f"  argument {name}: {arg.action.value}{extra}")
                if rule.description:
                    typer.echo(f"  {rule.description}")
                raise typer.Exit(EXIT_OK)
        for legacy in pack.legacy_factories:
            if legacy.id == rule_id:
                typer.echo(
                    f"{legacy.id} (pack {pack.id})\n  legacy factory: {legacy.qualified_name}\n"
                    f"  creates: {legacy.creates}\n  signature: ({', '.join(legacy.signature)})"
                )
                if legacy.description:
                    typer.echo(f"  {legacy.description}")
                raise typer.Exit(EXIT_OK)
    known = sorted(
        {p.id for p in packs}
        | {r.id for p in packs for r in p.classes}
        | {r.id for p in packs for r in p.legacy_factories}
    )
    fail(f"no pack or rule with id {rule_id!r} (known: {', '.join(known)})")


@app.command("check")
def check_command(
    file: Path = typer.Argument(..., help="A rule pack YAML file, or a shipped pack's id."),
) -> None:
    """Validate a rule pack; errors name the file, line and key (exit code 2)."""
    from migrator.rules import RulePackError, builtin_packs, load_pack

    # The same names `--rules` and `rules show` accept: a shipped pack by its id.
    if not file.exists() and str(file) in builtin_packs():
        file = builtin_packs()[str(file)]
    try:
        pack = load_pack(file)
    except RulePackError as error:
        fail(str(error))
    from migrator.packcheck import pack_warnings
    from migrator.rules import RuleSet

    typer.echo(
        f"{file}: ok: pack {pack.id!r} with {len(pack.classes)} class rule(s) and "
        f"{len(pack.legacy_factories)} legacy factory rule(s)"
    )
    # Contradictions, and names the environment has but that name nothing; the
    # tree is checked on every audit (there the scanned modules are known).
    for warning in pack_warnings(RuleSet((pack,)), None, _local_modules(Path.cwd())):
        typer.echo(f"warning: {warning}", err=True)


def _local_modules(root: Path) -> list[str]:
    """Top-level modules and packages of the current folder (and its src/), for rules check."""
    found: list[str] = []
    for folder in (root, root / "src"):
        try:
            entries = list(folder.iterdir())
        except OSError:
            continue
        for entry in entries:
            if entry.suffix == ".py" or (entry / "__init__.py").is_file():
                found.append(entry.stem if entry.suffix == ".py" else entry.name)
    return found
