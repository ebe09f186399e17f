"""Build a pull request in a temporary git repository and audit it in a fresh clone.

This is how an attacker meets the gate: a victim repository whose audit passes on
`main`, a branch that adds a real singleton and tries to hide it, and CI that
clones the branch and runs the audit step of docs/ci.md's workflow.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parent.parent

#: The victim: a package that imports the dispatcher and audits clean on main.
BASE: dict[str, str] = {
    "app/__init__.py": "",
    "app/service.py": (
        "from netra_backend.app.agents.tool_dispatcher import ToolDispatcher\n"
        "\n"
        "\n"
        "async def handle(user_context):\n"
        "    return ToolDispatcher(user_context=user_context)\n"
    ),
    "pyproject.toml": '[tool.migrator]\nexclude = ["docs/"]\n',
}

#: The singleton every malicious pull request adds, one way or another.
SINGLETON = (
    "from netra_backend.app.agents.tool_dispatcher import ToolDispatcher\n"
    "\n"
    "dispatcher = ToolDispatcher()\n"
)

Files = dict[str, "str | bytes | None"]


def git(cwd: Path, *args: str) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.invalid",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.invalid",
        "GIT_CONFIG_NOSYSTEM": "1",
        "HOME": str(cwd),
    }
    done = subprocess.run(
        ["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=True
    )
    return done.stdout


def _write(root: Path, files: Files) -> None:
    for relpath, content in files.items():
        path = root / relpath
        if content is None:
            path.unlink()
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")


def pull_request(
    tmp: Path,
    change: Files,
    *,
    base: Files | None = None,
    force_add: tuple[str, ...] = (),
    prepare: Callable[[Path], None] | None = None,
) -> Path:
    """A fresh clone of a branch that applies `change` to the victim; returns the clone.

    `force_add` are paths (say a cache folder) added with `git add -f` although
    ignored; `prepare` is called with the work tree before the branch is
    committed, e.g. to run a doctored migrator there.
    """
    origin = tmp / "origin"
    origin.mkdir()
    git(origin, "init", "-q", "-b", "main")
    _write(origin, BASE if base is None else base)
    git(origin, "add", "-A")
    git(origin, "commit", "-q", "-m", "victim")
    git(origin, "checkout", "-q", "-b", "pr")
    _write(origin, change)
    if prepare is not None:
        prepare(origin)
    git(origin, "add", "-A")
    for path in force_add:
        git(origin, "add", "-f", path)
    git(origin, "commit", "-q", "-m", "pull request")
    git(origin, "checkout", "-q", "main")
    clone = tmp / "clone"
    git(tmp, "clone", "-q", "--branch", "pr", str(origin), str(clone))
    return clone


def audit_step() -> list[str]:
    """The audit command of docs/ci.md's workflow, for a pull request into `main`."""
    text = (REPO / "docs" / "ci.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```yaml\n(.*?)```", text, re.S)
    workflow = next(yaml.safe_load(b) for b in blocks if b.startswith("name: migrator"))
    step = next(s for s in workflow["jobs"]["audit"]["steps"] if s.get("id") == "audit")
    command = re.sub(r"\$\{\{[^}]*\}\}", "main", step["run"])
    words = shlex.split(command)
    assert words[0] == "migrator", words
    return words[1:]


@dataclass(frozen=True)
class Audit:
    code: int
    document: dict[str, Any]
    stderr: str


def audit_clone(clone: Path, cache_home: Path, *extra: str) -> Audit:
    """Run docs/ci.md's audit step in `clone` (as CI would) and read its JSON."""
    argv = audit_step()
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "XDG_CACHE_HOME": str(cache_home),
        "MIGRATOR_TODAY": "2026-01-15",
    }
    done = subprocess.run(
        [sys.executable, "-m", "migrator", *argv, *extra],
        cwd=clone,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    output = clone / argv[argv.index("--output") + 1]
    assert output.is_file(), done.stderr
    return Audit(done.returncode, json.loads(output.read_text(encoding="utf-8")), done.stderr)
