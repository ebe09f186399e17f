"""How every report shows a kind: its words, its terminal style and its colour, in one table.

Adding a kind to `migrator.model.Kind` means adding its row here, and
`tests/test_output_formats.py` fails until it is there. The words speak of
"instances" and "the pack's factory", never of dispatchers: a rule pack may
target any singleton (a database client, a cache), and the pack's own
descriptions and targets say what it is (see `migrator.reports.packs`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from migrator.model import Kind


@dataclass(frozen=True)
class KindLook:
    #: A heading: "Legacy global factory".
    title: str
    #: One sentence, for a table cell or a rule's short description.
    short: str
    #: What the kind means.
    full: str
    #: What to do about a site of this kind.
    guidance: str
    #: Rich style in terminal output.
    style: str
    #: CSS colour in the HTML report and its SVG charts.
    colour: str


KINDS: Mapping[Kind, KindLook] = MappingProxyType(
    {
        Kind.SINGLETON: KindLook(
            title="Shared instance",
            short="An instance that every user shares.",
            full="A class of the rule pack constructed without a user context (missing or "
            "None), or an instance kept where all users share it: a module global, a class "
            "attribute, a cached getter. What one user registers on it or changes in it "
            "reaches every other user.",
            guidance="Create it per request from the user's context with the pack's "
            "request-scoped factory, or wrap its uses in the pack's scoped context manager. "
            "`migrator fix --diff` rewrites the sites whose plan is `factory` or "
            "`context-manager`; a `manual` plan says what a person must decide first.",
            style="bold red",
            colour="#cf222e",
        ),
        Kind.LEGACY_FACTORY: KindLook(
            title="Legacy global factory",
            short="A call to a legacy factory that returns a shared instance.",
            full="A call to a function that the rule pack lists as a legacy global factory: "
            "it returns one process-wide instance shared by every user.",
            guidance="Replace the call with the pack's request-scoped factory and pass the "
            "user's context. `migrator fix --diff` rewrites it when a user context is in "
            "scope in an async function.",
            style="red",
            colour="#d4590b",
        ),
        Kind.SUPER_INIT_NONE: KindLook(
            title="Subclass calls its base without a user context",
            short="A subclass whose `__init__` drops the user context.",
            full="A subclass `__init__` that calls its base's `__init__` (`super().__init__` "
            "or `Base.__init__(self, ...)`) without a user context, so every instance of "
            "the subclass is shared.",
            guidance="Give the subclass a context parameter and pass it on to its base; then "
            "create it through the pack's request-scoped factory. This is always manual work.",
            style="magenta",
            colour="#8250df",
        ),
        Kind.DIRECT_SCOPED: KindLook(
            title="Direct construction with a user context",
            short="Isolated per user, but bypasses the factory.",
            full="Constructed directly with a user context that is not None: isolated, but "
            "it skips what the pack's factory sets up and tears down.",
            guidance="Use the pack's request-scoped factory instead of the constructor, or its "
            "scoped context manager so that the instance is closed when the request ends. "
            "`migrator fix` rewrites it when the plan is `factory` or `context-manager`.",
            style="yellow",
            colour="#b08800",
        ),
        Kind.UNCERTAIN: KindLook(
            title="Cannot be decided statically",
            short="The analysis cannot tell whether this instance is isolated.",
            full="A construction whose user context may hide in forwarded `*args`/`**kwargs`, "
            "or whose class is chosen at run time.",
            guidance="Pass the user context explicitly (or pick the class explicitly), then run "
            "migrator again; if the site is fine as it is, suppress it with "
            "`# migrator: ignore[uncertain] <reason>`.",
            style="cyan",
            colour="#1b7c83",
        ),
        Kind.MIGRATED: KindLook(
            title="Request-scoped factory call",
            short="Migrated: created by the pack's request-scoped factory.",
            full="A call to the pack's request-scoped factory or scoped context manager. "
            "Nothing to do.",
            guidance="Nothing to do: this site is migrated.",
            style="green",
            colour="#1a7f37",
        ),
    }
)
