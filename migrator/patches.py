"""`fix --diff --split-by package --output DIR`: one patch per top-level package, with a description.

Each `<package>.patch` holds the unified diff of that package's files, and
`<package>.md` says what it changes and what it leaves for a person, so a large
migration can land as a series of reviewable pull requests.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path, PurePosixPath

from migrator.fixer import FileChange, FixPlanResult, change_diff


def package_of(relpath: str) -> str:
    """The top-level folder of a path; files at the root belong to `_root`."""
    parts = PurePosixPath(relpath).parts
    return parts[0] if len(parts) > 1 else "_root"


def write_split_patches(result: FixPlanResult, directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    changes: dict[str, list[FileChange]] = defaultdict(list)
    for change in result.changes:
        if change.changed:
            changes[package_of(change.path)].append(change)
    left: dict[str, list[str]] = defaultdict(list)
    for finding in result.left:
        if finding.fix is not None:
            reason = finding.fix.reason or finding.fix.action.value
            left[package_of(finding.path)].append(
                f"- `{finding.path}:{finding.line}` {reason}: {finding.fix.message}"
            )
    written: list[Path] = []
    for package in sorted(set(changes) | set(left)):
        if changes.get(package):
            patch = directory / f"{package}.patch"
            patch.write_text("".join(change_diff(c) for c in changes[package]), encoding="utf-8")
            written.append(patch)
        rewritten = [(f, action) for c in changes.get(package, []) for f, action in c.rewritten]
        lines = [f"# Migrate `{package}` to request-scoped dispatchers", ""]
        lines.append(
            f"Changes {len(changes.get(package, []))} file(s), rewriting {len(rewritten)} site(s):"
        )
        lines.append("")
        lines.extend(
            f"- `{f.path}:{f.line}` `{f.callee}` → {action.value}" for f, action in rewritten
        )
        lines.extend(["", f"Leaves {len(left.get(package, []))} site(s) for a person:", ""])
        lines.extend(left.get(package, []))
        description = directory / f"{package}.md"
        description.write_text("\n".join(lines) + "\n", encoding="utf-8")
        written.append(description)
    return written
