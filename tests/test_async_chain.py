"""A not-async site names the sync callers that would have to become async, across the tree.

The callers need not mention any rule name: they are found by their calls, in
files the prefilter would otherwise never parse, up to `async_chain_depth`.
"""

from __future__ import annotations

from pathlib import Path

from migrator.config import Config
from migrator.engine import analyse
from migrator.rules import load_rule_set

FILES = {
    "lib/__init__.py": "",
    "lib/sites.py": (
        "from netra_backend.app.agents.tool_dispatcher import ToolDispatcher\n\n\n"
        "def build():\n    return ToolDispatcher()\n"
    ),
    "lib/service.py": "from lib.sites import build\n\n\ndef make():\n    return build()\n",
    "lib/api.py": (
        "from lib import service\n\n\nclass Api:\n"
        "    def handler(self):\n        return service.make()\n"
    ),
    "lib/web.py": (
        "from lib.api import Api\n\n\nasync def route():\n    return Api().handler()\n\n\n"
        "def unrelated():\n    return 1\n"
    ),
}


def _tree(root: Path) -> Path:
    for relpath, text in FILES.items():
        path = root / relpath
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def _plan(root: Path, **config: object) -> tuple[tuple[str, ...], str, int]:
    settings = Config(root=root, jobs=1).with_overrides(**config)
    result = analyse(settings, load_rule_set([]), [str(root)]).result
    [finding] = result.findings
    assert finding.fix is not None and finding.fix.reason == "not-async"
    return finding.fix.async_chain, finding.fix.message, result.files_analysed


def test_chain_crosses_files_without_rule_names_and_stops_at_async(tmp_path: Path) -> None:
    chain, message, analysed = _plan(_tree(tmp_path), cache=False)
    assert chain == ("lib.service.make", "lib.api.Api.handler")
    assert "lib.service.make, lib.api.Api.handler" in message
    assert analysed == 1  # the callers are parsed for their call graph, not audited


def test_depth_limits_the_chain(tmp_path: Path) -> None:
    chain, _, _ = _plan(_tree(tmp_path), cache=False, async_chain_depth=1)
    assert chain == ("lib.service.make",)


def test_warm_run_with_the_prefilter_index_gives_the_same_chain(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    cold = _plan(root, cache=True)
    warm = _plan(root, cache=True)
    assert warm == cold
    (root / "lib" / "api.py").write_text(
        "from lib import service\n\n\nasync def handler():\n    return service.make()\n",
        encoding="utf-8",
    )
    assert _plan(root, cache=True)[0] == ("lib.service.make",)


def test_callers_through_a_reexport_and_through_construction(tmp_path: Path) -> None:
    files = {
        "pkg/__init__.py": "from pkg.sites import build\n",
        "pkg/sites.py": (
            "from netra_backend.app.agents.tool_dispatcher import ToolDispatcher\n\n\n"
            "def build():\n    return ToolDispatcher()\n\n\n"
            "class Holder:\n    def __init__(self):\n        self.d = ToolDispatcher()\n"
        ),
        "app/__init__.py": "",
        "app/jobs.py": "from pkg import build\n\n\ndef nightly():\n    return build()\n",
        "app/boot.py": "from pkg.sites import Holder\n\n\ndef start():\n    return Holder()\n",
        "app/noise.py": "def build():\n    return 1\n\n\ndef run():\n    return build()\n",
    }
    for relpath, text in files.items():
        (tmp_path / relpath).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relpath).write_text(text, encoding="utf-8")
    result = analyse(
        Config(root=tmp_path, jobs=1, cache=False), load_rule_set([]), [str(tmp_path)]
    ).result
    chains = {f.scope.function: f.fix.async_chain for f in result.findings if f.fix is not None}
    assert chains == {"build": ("app.jobs.nightly",), "Holder.__init__": ("app.boot.start",)}


def test_capped_search_says_the_chain_may_be_longer(tmp_path: Path, monkeypatch) -> None:
    from migrator import engine

    monkeypatch.setattr(engine, "_MAX_CALLER_FILES", 1)
    chain, message, _ = _plan(_tree(tmp_path), cache=False)
    assert chain == ("lib.service.make",)
    assert "there may be more" in message


def test_warm_index_never_hides_a_file_that_names_a_searched_word(tmp_path: Path) -> None:
    """Found in review: caller words entered the prefilter index as 'absent' from files
    that contained them, so a warm run missed a site a cold run found."""
    import os
    import time

    files = {
        "lib/__init__.py": "",
        "lib/alpha.py": (
            "from netra_backend.app.agents.tool_dispatcher import ToolDispatcher\n\n\n"
            "def run():\n    return ToolDispatcher()\n"
        ),
        "lib/helpers.py": "def run():\n    return 1\n",
        "lib/d.py": "from lib.helpers import run\n\n\ndef f():\n    return run()\n",
    }
    for relpath, text in files.items():
        (tmp_path / relpath).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relpath).write_text(text, encoding="utf-8")
    old = time.time() - 60
    for path in tmp_path.rglob("*.py"):
        os.utime(path, (old, old))
    # The index skips files whose change time is within 2 s of the run ("racily
    # clean"); the change time cannot be set back, so wait it out once.
    time.sleep(2.2)

    def sites(cache: bool) -> list[tuple[str, str | None]]:
        config = Config(root=tmp_path, jobs=1, cache=cache)
        result = analyse(config, load_rule_set([]), [str(tmp_path)]).result
        return sorted((f.path, f.scope.function) for f in result.findings)

    sites(cache=True)  # fills the cache and the prefilter index
    (tmp_path / "lib" / "helpers.py").write_text(
        "from netra_backend.app.agents.tool_dispatcher import ToolDispatcher\n\nrun = ToolDispatcher\n",
        encoding="utf-8",
    )
    assert sites(cache=True) == sites(cache=False)
    assert ("lib/d.py", "f") in sites(cache=False)
