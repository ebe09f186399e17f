"""Package discovery, the one thing pyproject.toml cannot say.

Every package under `migrator/` (the codemods included, as `migrator.codemods`) is
found on disk, so a new subpackage is never left out of the wheel. `rules/` stays a data-only folder at
the top of the repository and is installed as the package `migrator.packs`;
`packages.find` in pyproject.toml cannot add a package mapped from another
folder, hence this file. Everything else lives in pyproject.toml.
"""

from setuptools import find_packages, setup

setup(
    packages=[
        *find_packages(include=["migrator", "migrator.*"]),
        "migrator.packs",
    ],
    package_dir={"migrator.packs": "rules"},
)
