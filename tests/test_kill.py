"""SIGKILL a running `migrator fix` at random moments: every file stays whole.

A tree of small modules, each with one rewritable site, is rewritten once, to
completion, in a separate folder: that gives each file's one legitimate rewrite.
Then `fix` runs over a victim copy and is killed with SIGKILL at a random moment
of its write phase (found by watching the files change), many times, without
restoring anything in between (when a victim is fully rewritten, a fresh copy
takes its place). After every kill each file must be its original bytes or its
complete rewrite. Temporary files may only come from killed runs (named
`.migrator-<pid>-*.tmp`); a later writer sweeps those from the folders it writes to.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from migrator.writer import TEMP_PREFIX, sweep_stale_temporaries
from tests.conftest import REPO

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")

KILLS = 20
FILES = 16
MODULE = '''"""Module {i}: one dispatcher per call, with a context in scope."""
from netra_backend.app.agents.tool_dispatcher import ToolDispatcher


async def handle_{i}(user_context, name: str) -> object:
    dispatcher = ToolDispatcher(user_context=user_context)
    result = await dispatcher.dispatch(name, attempt={i})
    return result.value
'''


def _build(root: Path) -> None:
    for i in range(FILES):
        folder = root / f"pkg{i % 6}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"mod_{i}.py").write_text(MODULE.format(i=i) + "# padding\n" * (i % 7))


def _fix(root: Path) -> subprocess.Popen[bytes]:
    command = [
        sys.executable,
        "-m",
        "migrator",
        "fix",
        "--no-cache",
        "--jobs",
        "1",
        "--root",
        str(root),
        str(root),
    ]
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, cwd=root
    )


def _snapshot(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*.py"))}


def _wait_first_write(
    process: subprocess.Popen[bytes], root: Path, before: dict[str, bytes]
) -> bool:
    """Poll until a file changes (True) or the process ends first (False)."""
    paths = [root / rel for rel in before]
    while process.poll() is None:
        for path in paths:
            try:
                if path.read_bytes() != before[path.relative_to(root).as_posix()]:
                    return True
            except OSError:
                continue
        time.sleep(0.002)
    return False


def test_sigkill_never_leaves_a_torn_file(tmp_path: Path) -> None:
    reference = tmp_path / "reference"
    _build(reference)
    original = _snapshot(reference)
    process = _fix(reference)
    assert _wait_first_write(process, reference, original)
    writes_started = time.perf_counter()
    assert process.wait(timeout=120) == 0
    window = max(0.02, time.perf_counter() - writes_started)
    rewritten = _snapshot(reference)
    assert all(original[p] != rewritten[p] for p in original), "every module has a site to rewrite"

    rng = random.Random(1234)
    killed: set[int] = set()
    victims = 0
    victim = tmp_path / "victim0"
    _build(victim)
    for _ in range(KILLS):
        before = _snapshot(victim)
        if before == rewritten:  # fully migrated by earlier runs: a fresh victim
            victims += 1
            victim = tmp_path / f"victim{victims}"
            _build(victim)
            before = _snapshot(victim)
        process = _fix(victim)
        if _wait_first_write(process, victim, before):
            time.sleep(rng.uniform(0, window))
        process.send_signal(signal.SIGKILL)
        process.wait()
        killed.add(process.pid)
        now = _snapshot(victim)
        assert now.keys() == original.keys()
        for path, data in now.items():
            assert data in (original[path], rewritten[path]), (
                f"{path} is neither its original nor its rewrite"
            )
        for temporary in victim.rglob(f"{TEMP_PREFIX}*"):
            pid = int(temporary.name[len(TEMP_PREFIX) :].split("-", 1)[0])
            assert pid in killed, f"{temporary} does not belong to a killed run"

    # A run that completes finishes the job.
    assert _fix(victim).wait(timeout=120) == 0
    assert _snapshot(victim) == rewritten
    for folder in {p.parent for p in tmp_path.rglob(f"{TEMP_PREFIX}*")}:
        sweep_stale_temporaries(folder)
    assert not list(tmp_path.rglob(f"{TEMP_PREFIX}*"))
