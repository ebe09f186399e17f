"""Print `name==lowest` constraints for the build, runtime and test dependencies in pyproject.toml.

pip has no "lowest" resolution, so `.ci/lowest-bounds` pins each direct dependency to
the lower bound pyproject.toml declares: that is the version a user with an old
environment gets, and the one the suite must pass with. A dependency declared without
a `>=` lower bound is an error here, since nothing would test its oldest version.
Standard library only: it runs before anything is installed.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

REQUIREMENT = re.compile(
    r"^\s*(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*(?P<spec>[^;]*?)\s*(?:;(?P<marker>.*))?$"
)
LOWER = re.compile(r">=\s*(?P<version>[^,\s]+)")


def constraints(pyproject: Path, extras: list[str]) -> list[str]:
    document = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    project = document["project"]
    # The build backend too: pip hands PIP_CONSTRAINT to the isolated build environment.
    requirements = list(document["build-system"]["requires"])
    requirements += project.get("dependencies", [])
    for extra in extras:
        requirements += project.get("optional-dependencies", {})[extra]
    lines = []
    for requirement in requirements:
        match = REQUIREMENT.match(requirement)
        lower = LOWER.search(match["spec"]) if match else None
        if match is None or lower is None:
            raise SystemExit(f"{pyproject}: '{requirement}' declares no '>=' lower bound; add one")
        marker = f"; {match['marker'].strip()}" if match["marker"] else ""
        lines.append(f"{match['name']}=={lower['version']}{marker}")
    return lines


if __name__ == "__main__":
    print("\n".join(constraints(Path(sys.argv[1]), sys.argv[2:])))
