"""The command line: Typer only. Parse options, call the engine, print, return the exit code.

Each command lives in its own module; this one builds the app from them
explicitly. Heavy modules (LibCST, Rich tables) are imported inside the
commands so that `migrator --help` starts fast.
"""

from __future__ import annotations

import typer

from migrator.cli import audit, fix, report, rules

app = typer.Typer(
    name="migrator",
    help="Migrate singleton tool dispatchers to request-scoped ones: audit, fix, report.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # Plain Click help and usage errors: Typer's Rich formatting imports Rich's
    # Markdown, syntax highlighting and tracebacks (about 120 ms), which alone
    # would take `migrator --help` past its 0.3 s budget.
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        from migrator import __version__

        typer.echo(f"migrator {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Show the version and exit."
    ),
) -> None:
    """Migrate singleton tool dispatchers to request-scoped ones: audit, fix, report."""


app.command("audit", help=audit.HELP)(audit.audit_command)
app.command("fix", help=fix.HELP)(fix.fix_command)
app.add_typer(rules.app, name="rules")
app.add_typer(report.app, name="report")


def main() -> None:
    try:
        app()
    except Exception as error:
        from migrator.filestore import WorkerError

        if not isinstance(error, WorkerError):
            raise
        # Not 1, which a CI gate reads as "blocking findings": the run did not finish.
        typer.echo(f"migrator: error: {error}", err=True)
        raise SystemExit(2) from None
