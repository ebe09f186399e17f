"""Configuration: `[tool.migrator]` in pyproject.toml, or `migrator.yaml` / `.migrator.yaml`.

Command-line options override the file; the file overrides the defaults. Unknown
keys and wrong types are refused with the file and key, like a bad rule pack.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]


class ConfigError(Exception):
    """A configuration that cannot be used; `str()` names the file and key."""


DEFAULT_EXCLUDES: tuple[str, ...] = (
    ".git/",
    ".hg/",
    ".svn/",
    ".venv/",
    "venv/",
    ".tox/",
    ".nox/",
    "__pycache__/",
    "node_modules/",
    ".migrator_cache/",
    ".mypy_cache/",
    ".ruff_cache/",
    ".pytest_cache/",
    "site-packages/",
)

DEFAULT_TEST_PATTERNS: tuple[str, ...] = (
    "tests/",
    "test/",
    "test_*.py",
    "*_test.py",
    "conftest.py",
)


@dataclass(frozen=True)
class Config:
    """Settings of one run. Paths are absolute."""

    root: Path
    paths: tuple[str, ...] = (".",)
    exclude: tuple[str, ...] = ()
    source_roots: tuple[str, ...] = ("src",)
    rules: tuple[str, ...] = ()
    fail_on: tuple[str, ...] = ("singleton", "legacy-factory", "super-init-none")
    jobs: int = 0
    respect_gitignore: bool = True
    test_patterns: tuple[str, ...] = DEFAULT_TEST_PATTERNS
    max_file_bytes: int = 10_000_000
    async_chain_depth: int = 5
    style: str = "auto"
    cache: bool = True
    cache_dir: str = ".migrator_cache"
    baseline: str | None = None
    #: Files (fnmatch patterns on `/` paths) that may be skipped without failing the
    #: gate: a file that cannot be analysed otherwise blocks (`migrator.gate`).
    allow_skipped: tuple[str, ...] = ()
    source: str | None = field(default=None, compare=False)

    def with_overrides(self, **overrides: Any) -> Config:
        """A copy with every override that is not None applied."""
        return replace(self, **{k: v for k, v in overrides.items() if v is not None})

    @property
    def effective_jobs(self) -> int:
        return self.jobs if self.jobs > 0 else (os.cpu_count() or 1)


_SCHEMA: dict[str, type | tuple[type, ...]] = {
    "paths": list,
    "exclude": list,
    "source_roots": list,
    "rules": list,
    "fail_on": list,
    "jobs": int,
    "respect_gitignore": bool,
    "test_patterns": list,
    "max_file_bytes": int,
    "async_chain_depth": int,
    "style": str,
    "cache": bool,
    "cache_dir": str,
    "baseline": str,
    "allow_skipped": list,
}


def find_root(start: Path) -> Path:
    """The project root: the nearest folder upwards that has a migrator configuration or `.git`.

    The nearest one wins, as with Ruff or Black: an application kept inside a larger
    repository (a bundled fixture app, a service of a monorepo) with its own
    `migrator.yaml` or `[tool.migrator]` is a project of its own, and names are resolved
    within it, not across every other application that happens to share the repository.
    """
    start = start.resolve()
    folder = start if start.is_dir() else start.parent
    for candidate in (folder, *folder.parents):
        if (candidate / ".git").exists() or _has_config(candidate):
            return candidate
    return folder


def _has_config(folder: Path) -> bool:
    if (folder / "migrator.yaml").is_file() or (folder / ".migrator.yaml").is_file():
        return True
    pyproject = folder / "pyproject.toml"
    if pyproject.is_file():
        try:
            return "[tool.migrator" in pyproject.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return False
    return False


def load_config(root: Path, explicit: Path | None = None) -> Config:
    """Read the configuration of `root` (or the file `explicit`)."""
    if explicit is not None:
        return _from_file(root, explicit)
    for name in ("migrator.yaml", ".migrator.yaml"):
        if (root / name).is_file():
            return _from_file(root, root / name)
    pyproject = root / "pyproject.toml"
    if pyproject.is_file():
        return _from_file(root, pyproject)
    return Config(root=root)


def load_config_at(root: Path, ref: str, commit: str) -> Config:
    """The configuration `root` has in the git commit `commit` (named `ref` in messages).

    The same files in the same order as `load_config`, read from the commit:
    `--config-from REF` gates a pull request with its target branch's settings.
    """
    from migrator.gitutil import read_at

    for name in ("migrator.yaml", ".migrator.yaml", "pyproject.toml"):
        raw = read_at(root, commit, name)
        if raw is not None:
            return _from_bytes(root, raw, f"{ref}:{name}", name.endswith(".toml"))
    return Config(root=root)


def _from_file(root: Path, path: Path) -> Config:
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise ConfigError(f"{path}: cannot read configuration: {error.strerror}") from None
    return _from_bytes(root, raw, str(path), path.suffix == ".toml")


def _from_bytes(root: Path, raw: bytes, path: str, toml: bool) -> Config:
    data: Any
    if toml:
        try:
            document = tomllib.loads(raw.decode("utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
            raise ConfigError(f"{path}: invalid TOML: {error}") from None
        data = document.get("tool", {}).get("migrator", {})
    else:
        try:
            data = yaml.safe_load(raw.decode("utf-8")) or {}
        except (yaml.YAMLError, UnicodeDecodeError) as error:
            raise ConfigError(f"{path}: invalid YAML: {error}") from None
    if not isinstance(data, Mapping):
        raise ConfigError(f"{path}: [tool.migrator] must be a table of settings")
    values: dict[str, Any] = {}
    for key, value in data.items():
        name = str(key).replace("-", "_")
        if name not in _SCHEMA:
            allowed = ", ".join(sorted(_SCHEMA))
            raise ConfigError(f"{path}: tool.migrator.{key}: unknown setting (known: {allowed})")
        expected = _SCHEMA[name]
        if isinstance(value, bool) and expected is int:
            raise ConfigError(f"{path}: tool.migrator.{key}: expected an integer, got {value!r}")
        if not isinstance(value, expected):
            raise ConfigError(
                f"{path}: tool.migrator.{key}: expected {_type_name(expected)}, got {value!r}"
            )
        if isinstance(value, list):
            if not all(isinstance(item, str) for item in value):
                raise ConfigError(f"{path}: tool.migrator.{key}: expected a list of strings")
            value = tuple(value)
        values[name] = value
    if "fail_on" in values:
        from migrator.gate import split_fail_on

        try:
            split_fail_on(values["fail_on"])
        except ValueError as error:
            raise ConfigError(f"{path}: tool.migrator.fail_on: {error}") from None
    return Config(root=root, source=path, **values)


def _type_name(expected: type | tuple[type, ...]) -> str:
    names = {list: "a list of strings", int: "an integer", bool: "true or false", str: "a string"}
    if isinstance(expected, tuple):
        return " or ".join(names.get(t, t.__name__) for t in expected)
    return names.get(expected, expected.__name__)
