"""The file stores: in-process and in worker processes.

The worker stores split, search and merge in a fixed order, and must report a
failing or dying worker as an error that names what to do, never hang, never
leave a process behind. Two regression tests keep out a regular-expression
screen that a review found both slow (exponential backtracking) and wrong.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from migrator import filestore
from migrator.config import Config
from migrator.discovery import SourceFile
from migrator.filestore import (
    Meter,
    Prefilter,
    WorkerError,
    WorkerStores,
    _listable,
    _words_in,
    names_pattern,
)

pytestmark = pytest.mark.filterwarnings("ignore::SyntaxWarning")

NAME = frozenset({"Dispatcher"})


def _audit(root: Path) -> list[tuple[str, int, str]]:
    from migrator.engine import analyse
    from migrator.rules import load_rule_set

    result = analyse(Config(root=root, jobs=1, cache=False), load_rule_set([]), [str(root)]).result
    return [(f.path, f.line, f.kind.value) for f in result.findings]


def _alias_tree(root: Path, user: str) -> Path:
    (root / "pkg").mkdir(parents=True)
    (root / "pkg" / "__init__.py").write_text("")
    (root / "pkg" / "a.py").write_text(
        "from netra_backend.app.agents.tool_dispatcher import UnifiedToolDispatcher\n"
        "Dispatcher = UnifiedToolDispatcher\n"
    )
    (root / "pkg" / "b.py").write_text(user)
    return root


def test_alias_imported_in_a_commented_parenthesized_list_is_found(tmp_path: Path) -> None:
    """Found in review: a regular-expression screen stopped at the `)` in the comment."""
    user = (
        "from pkg.a import (\n    x,  # legacy (old)\n    Dispatcher,\n)\n\n\n"
        "def f():\n    return Dispatcher()\n"
    )
    assert ("pkg/b.py", 8, "singleton") in _audit(_alias_tree(tmp_path, user))


def test_comment_banners_do_not_stall_the_alias_check(tmp_path: Path) -> None:
    """Found in review: that screen backtracked exponentially on `.` before a `####` line."""
    import time

    user = "# see the docs.\n" + "#" * 60 + "\n# the Dispatcher docs\nx = 1\n"
    started = time.monotonic()
    assert _audit(_alias_tree(tmp_path, user)) == []
    assert time.monotonic() - started < 10


def _stores(tmp_path: Path, count: int = 2) -> tuple[WorkerStores, list[tuple[str, str]]]:
    files = []
    for index in range(6):
        path = tmp_path / f"m{index}.py"
        path.write_text(f"from lib import Dispatcher\nd{index} = Dispatcher()\n")
        files.append((str(path), path.name))
    config = Config(root=tmp_path, jobs=count, cache=False)
    stores = WorkerStores(count, tmp_path, config, "digest", None, Meter(None))
    stores.own([SourceFile(location, relpath) for location, relpath in files])
    return stores, files


def test_worker_stores_split_and_merge_in_a_fixed_order(tmp_path: Path) -> None:
    stores, files = _stores(tmp_path)
    try:
        (tmp_path / "m3.py").unlink()
        errors, signatures = stores.read([relpath for _, relpath in files])
        assert errors == [("m3.py", "cannot read: No such file or directory")]
        assert sorted(signatures) == ["m0.py", "m1.py", "m2.py", "m4.py", "m5.py"]
        found = stores.search(NAME, NAME, {}, frozenset({"m5.py"}))
        assert found == {f"m{i}.py": NAME for i in (0, 1, 2, 4)}
        results = stores.extract(found, frozenset())
        assert [relpath for relpath, _, _ in results] == ["m0.py", "m1.py", "m2.py", "m4.py"]
        assert all(facts is not None and error is None for _, facts, error in results)
    finally:
        stores.close()


def test_a_failing_request_is_an_error_with_the_workers_traceback(tmp_path: Path) -> None:
    stores, _ = _stores(tmp_path)
    try:
        # Owned but never read: the worker's store has no bytes for it.
        with pytest.raises(WorkerError, match=r"KeyError: 'm0\.py'"):
            stores.extract({"m0.py": NAME}, frozenset())
    finally:
        stores.close()


def test_a_worker_that_dies_is_an_error_not_a_hang(tmp_path: Path) -> None:
    stores, files = _stores(tmp_path)
    try:
        os.kill(stores.processes[1].pid, 9)
        stores.processes[1].join()
        with pytest.raises(WorkerError, match=r"ended unexpectedly.*--jobs 1"):
            stores.read([relpath for _, relpath in files])
    finally:
        stores.close()


def test_sources_are_the_paths_given(tmp_path: Path) -> None:
    store = filestore.Store(tmp_path, Config(root=tmp_path), "digest", None)
    store.own_paths([(str(tmp_path / "a.py"), "a.py")])
    assert store.sources == {"a.py": SourceFile(str(tmp_path / "a.py"), "a.py")}
    assert store.sources["a.py"].path == tmp_path / "a.py"


def test_extraction_uses_the_bytes_that_were_read(tmp_path: Path) -> None:
    """An edit after the read cannot reach the facts (or the cache key made from the read)."""
    path = tmp_path / "m.py"
    path.write_text("from lib import Dispatcher\nd = Dispatcher()\n")
    store = filestore.Store(tmp_path, Config(root=tmp_path), "digest", None)
    store.own([SourceFile(str(path), "m.py")])
    store.read(["m.py"])
    path.write_text("x = 1\n")
    [(relpath, facts, error)] = store.extract({"m.py": NAME}, frozenset())
    assert (relpath, error) == ("m.py", None)
    assert facts is not None and [call.targets for call in facts.calls] == [("lib.Dispatcher",)]


def test_abandoning_a_run_does_not_wait_for_busy_workers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After an error or Ctrl-C, workers are killed, not asked to stop after their share."""
    import time

    monkeypatch.setattr(
        filestore.Store, "nap", lambda self, seconds: time.sleep(seconds), raising=False
    )
    stores, _ = _stores(tmp_path)
    for connection in stores.connections:
        connection.send(("nap", (30,)))
    started = time.monotonic()
    stores.close(abort=True)
    assert time.monotonic() - started < 3
    assert all(not process.is_alive() for process in stores.processes)


def test_a_worker_that_cannot_start_leaves_no_other_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import multiprocessing.context

    started: list[object] = []
    original = multiprocessing.context.ForkProcess.start

    def start(self: multiprocessing.context.ForkProcess) -> None:
        if started:
            raise OSError(11, "Resource temporarily unavailable")
        original(self)
        started.append(self)

    monkeypatch.setattr(multiprocessing.context.ForkProcess, "start", start)
    config = Config(root=tmp_path, jobs=2, cache=False)
    with pytest.raises(OSError):
        WorkerStores(2, tmp_path, config, "digest", None, Meter(None))
    [first] = started
    assert not first.is_alive()  # type: ignore[attr-defined]


def test_a_caller_found_by_screening_an_unread_file_is_extracted_from_those_bytes(
    tmp_path: Path,
) -> None:
    """A warm run screens index-clean files from disk; the match is not read a second time."""
    path = tmp_path / "jobs.py"
    path.write_text("from app import builders\n\n\ndef nightly():\n    return builders.build()\n")
    store = filestore.Store(tmp_path, Config(root=tmp_path), "digest", None)
    store.own([SourceFile(str(path), "jobs.py")])  # owned, never read: clean in the index
    hits = store.screen(frozenset({("build", "builders")}), frozenset(), covered=False)
    assert hits == [("jobs.py", True, True)]
    path.write_text("x = 1\n")  # edited after the screen
    facts = store.extract_callers(["jobs.py"], "digest/callers")
    [function] = facts["jobs.py"].functions
    assert function.qualname == "jobs.nightly"


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,12}", fullmatch=True), min_size=1, max_size=40
    ),
    st.lists(
        st.one_of(
            st.from_regex(r"[A-Za-z0-9_]{1,14}", fullmatch=True),
            st.sampled_from([" ", ".", "(", "é", "\n", "#", "1"]),
        ),
        max_size=60,
    ),
)
def test_prefilter_and_word_listing_agree_with_the_word_pattern(
    words: list[str], pieces: list[str]
) -> None:
    """Few words or many (`_MANY_WORDS`), the answer is the word-boundary pattern's."""
    # Make some words occur, whole or inside longer runs.
    text = "".join(
        [*pieces, " ", words[0], " ", "x" + words[-1], " ", words[len(words) // 2] + "9"]
    )
    raw = text.encode("utf-8")
    for subset in (words[:3], words):
        truth = {m.decode("utf-8") for m in names_pattern(subset).findall(raw)}
        assert Prefilter(subset)(raw) is bool(truth)
        assert _words_in(raw, frozenset(subset), None) == truth


def test_many_words_with_a_non_ascii_one_are_still_found() -> None:
    """`Café`'s UTF-8 bytes end a run of word characters: only the pattern finds it."""
    words = ["Café", *(f"Word{n}" for n in range(20))]
    raw = "x = Café()\n".encode()
    assert not _listable(words)
    assert _listable(words[1:])
    assert Prefilter(words)(raw)
    assert _words_in(raw, frozenset(words), names_pattern(words)) == {"Café"}


_SIGTERM_SCRIPT = """
import os, signal, sys, threading, time
from pathlib import Path
from migrator import engine, filestore
from migrator.config import Config
from migrator.rules import load_rule_set

root, pids = Path(sys.argv[1]), Path(sys.argv[2])
engine._WORKER_STORE_FILES = 1
filestore.Store.read = lambda self, relpaths: time.sleep(60)  # every worker busy
start = filestore.WorkerStores.__init__

def init(self, *args, **kwargs):
    start(self, *args, **kwargs)
    pids.write_text(" ".join(str(process.pid) for process in self.processes))
    threading.Timer(1.0, os.kill, (os.getpid(), signal.SIGTERM)).start()

filestore.WorkerStores.__init__ = init
engine.analyse(Config(root=root, jobs=2, cache=False), load_rule_set([]), [str(root)])
"""


def test_sigterm_to_the_main_process_stops_busy_workers(tmp_path: Path) -> None:
    """`kill PID` (not the process group) ends the run and its workers at once."""
    import subprocess
    import sys
    import time

    tree = tmp_path / "tree"
    tree.mkdir()
    for number in range(120):  # discovery reports every 100 files: then workers start
        (tree / f"m{number}.py").write_text("x = 1\n")
    pids = tmp_path / "pids"
    started = time.monotonic()
    ended = subprocess.run(
        [sys.executable, "-c", _SIGTERM_SCRIPT, str(tree), str(pids)],
        capture_output=True,
        text=True,
        timeout=50,
        check=False,
    )
    assert ended.returncode == 143, ended.stderr
    assert time.monotonic() - started < 30
    workers = [int(pid) for pid in pids.read_text().split()]
    assert len(workers) == 2
    for pid in workers:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


def _gone(pid: int) -> bool:
    """Ended: no such process, or a zombie nobody has reaped yet."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return True
    return "\nState:\tZ" in status


def test_workers_exit_when_the_main_process_is_killed(tmp_path: Path) -> None:
    """SIGKILL of the main process during analysis (nothing can run in it) ends its workers too."""
    import signal
    import subprocess
    import sys
    import time

    tree = tmp_path / "tree"
    tree.mkdir()
    for number in range(120):
        (tree / f"m{number}.py").write_text("x = 1\n")
    pids = tmp_path / "pids"
    script = _SIGTERM_SCRIPT.replace("signal.SIGTERM", "signal.SIGKILL")
    ended = subprocess.run(
        [sys.executable, "-c", script, str(tree), str(pids)],
        capture_output=True,
        text=True,
        timeout=50,
        check=False,
    )
    assert ended.returncode == -signal.SIGKILL, ended.stderr
    workers = [int(pid) for pid in pids.read_text().split()]
    assert len(workers) == 2
    deadline = time.monotonic() + 20
    while not all(_gone(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    alive = [pid for pid in workers if not _gone(pid)]
    for pid in alive:  # never leave them behind, even when the test fails
        os.kill(pid, signal.SIGKILL)
    assert alive == []
