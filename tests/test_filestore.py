"""The file stores: the screens that keep files away from LibCST, and the worker stores.

`_may_import_or_read` is a regular-expression check that may only ever answer
False where CPython's `ast` would also find no import or attribute use of a name;
checked on edge cases and on arbitrary generated programs. The worker stores must
report a failing or dying worker as an error that names what to do, never hang.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import hypothesmith
import pytest
from hypothesis import HealthCheck, given, settings

from migrator import filestore
from migrator.config import Config
from migrator.discovery import SourceFile
from migrator.filestore import Meter, WorkerError, WorkerStores

pytestmark = pytest.mark.filterwarnings("ignore::SyntaxWarning")

NAME = frozenset({"Dispatcher"})


@pytest.mark.parametrize(
    ("text", "may"),
    [
        ("from x import Dispatcher\n", True),
        ("from x import (\n    a,\n    Dispatcher,\n)\n", True),
        ("from x import a, \\\n    Dispatcher\n", True),
        ("import a.Dispatcher\n", True),
        ("from Dispatcher import y\n", True),
        ("from .Dispatcher import y\n", True),
        ("import a as Dispatcher\n", True),
        ("x = mod.Dispatcher()\n", True),
        ("x = (mod.\n    Dispatcher)\n", True),
        ("x = (mod.  # why\n    Dispatcher)\n", True),
        ("x = mod.\\\n    Dispatcher\n", True),
        ("JOBS = ['Dispatcher', 'Koch']\nimport os\n", False),
        ("class Dispatcher:\n    pass\n\nd = Dispatcher()\n", False),
        ("# Dispatcher\nfrom a import b\n", False),
    ],
    ids=[
        "from-import",
        "parenthesized-import",
        "continued-import",
        "dotted-import",
        "module-named-so",
        "relative-module",
        "import-as",
        "attribute",
        "attribute-across-lines",
        "attribute-across-comment",
        "attribute-after-continuation",
        "only-in-strings",
        "own-class",
        "only-in-comment",
    ],
)
def test_import_or_attribute_screen(text: str, may: bool) -> None:
    assert filestore._may_import_or_read(text, NAME) is may
    if not may:  # where the screen says no, the full check agrees
        assert not filestore._ast_mentions(text, NAME, NAME)


@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
@given(hypothesmith.from_grammar())
def test_screen_never_hides_what_ast_finds(text: str) -> None:
    for name in sorted(set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", text)))[:20]:
        names = frozenset({name})
        if not filestore._may_import_or_read(text, names):
            assert not filestore._ast_mentions(text, names, names), name


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
