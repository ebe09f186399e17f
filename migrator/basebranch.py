"""The base branch's configuration and baseline: what a pull request cannot change.

A pull request carries its own `[tool.migrator]` and baseline, and either can
switch the gate off: a new `exclude`, a shorter `fail_on`, another rule pack, a
smaller `max_file_bytes`, an `allow_skipped` entry, a baseline entry for the site
it adds. `migrator audit --config-from REF` reads the configuration, the rule
packs it names and the baseline from the commit `REF` (the target branch)
instead of the work tree, and every way in which the work tree's differ is
reported as a configuration change. Nothing here writes to the repository.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from pathlib import Path, PurePosixPath

from migrator.baseline import BaselineEntry, parse_baseline
from migrator.config import Config, load_config_at
from migrator.gitutil import GitError, read_at, resolve_commit

#: Every warning about a configuration change starts with this.
CHANGE_PREFIX = "configuration change: "

#: Settings that are not about what the gate sees (or are compared another way).
_NOT_COMPARED = frozenset({"root", "source", "jobs", "style", "cache"})


@dataclass(frozen=True)
class ConfigChange:
    """One way the work tree's configuration differs from the base branch's."""

    setting: str
    message: str

    def warning(self) -> str:
        return CHANGE_PREFIX + self.message

    def to_json(self) -> dict[str, str]:
        return {"setting": self.setting, "message": self.message}


@dataclass(frozen=True)
class BaseBranch:
    ref: str
    commit: str
    config: Config
    #: The base's baseline entries (None: it has no baseline file).
    baseline: tuple[BaselineEntry, ...] | None
    #: Where the baseline was read from, for people.
    baseline_source: str | None
    #: How the work tree's configuration and baseline differ (see `changes`).
    changes: tuple[ConfigChange, ...] = ()


def _inside(root: Path, name: str) -> str | None:
    """`name` (relative to the root, or absolute) as a root-relative posix path, if inside."""
    path = Path(name)
    absolute = path if path.is_absolute() else root / path
    try:
        relative = absolute.resolve().relative_to(root.resolve())
    except (ValueError, OSError):
        return None
    return PurePosixPath(relative.as_posix()).as_posix()


def load_base(root: Path, ref: str, baseline_override: Path | None = None) -> BaseBranch:
    """The configuration and baseline of `ref` for `root`. Raises GitError, ConfigError,
    ValueError (a bad baseline) with messages for people."""
    commit = resolve_commit(root, ref)
    config = load_config_at(root, ref, commit)
    baseline_name: str | None = None
    if baseline_override is not None:
        baseline_name = _inside(root, str(baseline_override))
    elif config.baseline:
        baseline_name = _inside(root, config.baseline)
    entries: tuple[BaselineEntry, ...] | None = None
    shown = None
    if baseline_name is not None:
        shown = f"{ref}:{baseline_name}"
        raw = read_at(root, commit, baseline_name)
        entries = () if raw is None else parse_baseline(raw, shown)
    return BaseBranch(ref, commit, config, entries, shown)


def materialise_rules(root: Path, base: BaseBranch, folder: Path) -> tuple[str, ...]:
    """The base configuration's rule packs, with every pack file of the repository read
    from the base commit into `folder` (a pack id or a file outside the root is kept)."""
    out: list[str] = []
    for index, name in enumerate(base.config.rules):
        relative = _inside(root, name)
        raw = read_at(root, base.commit, relative) if relative is not None else None
        if raw is None:
            out.append(name)
            continue
        target = folder / f"{index}-{PurePosixPath(name).name}"
        target.write_bytes(raw)
        out.append(str(target))
    return tuple(out)


def changes(
    base: BaseBranch,
    work: Config,
    work_baseline: Sequence[BaselineEntry] | None,
) -> list[ConfigChange]:
    """How the work tree's configuration and baseline differ from the base branch's."""
    found: list[ConfigChange] = []
    for field in fields(Config):
        name = field.name
        if name in _NOT_COMPARED:
            continue
        was, now = getattr(base.config, name), getattr(work, name)
        if was == now:
            continue
        if isinstance(was, tuple) and isinstance(now, tuple):
            added = [v for v in now if v not in was]
            removed = [v for v in was if v not in now]
            parts = [
                f"adds {', '.join(map(repr, added))}" if added else "",
                f"removes {', '.join(map(repr, removed))}" if removed else "",
            ]
            detail = " and ".join(p for p in parts if p) or "reorders its entries"
            found.append(ConfigChange(name, f"`{name}` {detail} (on {base.ref}: {list(was)!r})"))
        else:
            found.append(ConfigChange(name, f"`{name}` is {now!r} here, {was!r} on {base.ref}"))
    root = work.root
    for name in sorted(set(work.rules) & set(base.config.rules)):
        relative = _inside(root, name)
        if relative is None:
            continue
        try:
            current = (root / relative).read_bytes()
        except OSError:
            current = None
        if current != read_at(root, base.commit, relative):
            found.append(
                ConfigChange("rules", f"the rule pack {relative} differs from {base.ref}'s")
            )
    if work_baseline is not None:
        grown = added_entries(work_baseline, base.baseline or ())
        if grown:
            shown = ", ".join(e.describe() for e in grown[:5])
            more = f" and {len(grown) - 5} more" if len(grown) > 5 else ""
            found.append(
                ConfigChange(
                    "baseline",
                    f"the baseline lists {len(grown)} site(s) that {base.ref}'s does not "
                    f"({shown}{more}); they do not count",
                )
            )
    return found


def added_entries(
    entries: Sequence[BaselineEntry], base: Sequence[BaselineEntry]
) -> list[BaselineEntry]:
    """Entries of `entries` that `base` does not have (same path, kind and fingerprint)."""
    known = {entry.key for entry in base}
    return [entry for entry in entries if entry.key not in known]


__all__ = [
    "CHANGE_PREFIX",
    "BaseBranch",
    "ConfigChange",
    "GitError",
    "added_entries",
    "changes",
    "load_base",
    "materialise_rules",
]
