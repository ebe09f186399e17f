"""Test helpers: run an audit of a folder in-process with the default configuration."""

from __future__ import annotations

from pathlib import Path

from migrator.config import Config
from migrator.engine import Analysis, analyse
from migrator.rules import load_rule_set


def audit_tree(
    root: Path, paths: list[str] | None = None, rules: list[str] | None = None, **config: object
) -> Analysis:
    settings = Config(root=root, cache=False, jobs=1).with_overrides(**config)
    return analyse(settings, load_rule_set(rules or []), [str(root / p) for p in (paths or ["."])])
