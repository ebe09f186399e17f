"""`fixtures/realistic/`: a half-migrated back end written by other hands (issues 12 and 13).

The application was written from the issues and the design, before the engine was changed, so
today's tool gets many of these tests wrong: `fixtures/realistic/README.md` lists what, grouped
by the issues' items. The tests:

- **audit**: every `# expect:` marker holds, and no other line is a site. One test per module
  (its path is the id), over one audit of the whole tree, because names resolve across modules.
  Issue 13's test-fixture injection cases are the modules under `tests/injection/`.
- **fix**: `migrator fix` turns a copy into exactly `fixtures/realistic_expected/fixed/`, byte for
  byte (one test per file); every file it writes compiles, pyflakes finds no new undefined name
  in it and no module imports itself; a second `fix` changes nothing.
- **the expected tree itself**: the same compile / pyflakes / self-import checks, a rewrite
  exactly where a marker plans one, and nothing a second `fix` would still change.
- **scenario**: `scenario.py` runs every rewritten function and the rewritten tests against
  `migrator.reference`: it fails on the code as written and passes on the fixed tree.
"""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from pyflakes import checker, messages

from migrator.fixer import FixPlanResult, Style
from migrator.model import FixAction, Kind
from migrator.rules import RuleSet, load_rule_set
from tests.conftest import FIXTURES, REPO
from tests.test_audit_fixtures import _actual, _expected, _normalise_expected
from tests.test_fix_fixtures import _fix

APP = FIXTURES / "realistic"
FIXED = FIXTURES / "realistic_expected" / "fixed"
#: Issue 13's cases (a test context injected as a pytest fixture): tracked on their own.
INJECTION = "tests/injection/"
_IGNORED = ("__pycache__", ".migrator_cache", ".pytest_cache")

#: Every reason a marker may name: the design's, and the ones issues 12 and 13 add.
REASONS = {
    "no-context-in-scope",
    "not-async",
    "module-level",
    "class-body",
    "shared-instance",
    "indirect-construction",
    "subclass",
    "kwargs-forwarding",
    "super-init",
    "uncertain",
    "context-mismatch",
    "factory-internal",
    "name-taken",
    "unittest-method",
    "fixture-scope",
    "not-a-test",
}


def _files(root: Path, suffix: str = "") -> list[str]:
    return sorted(
        p.relative_to(root).as_posix()
        for p in root.rglob(f"*{suffix}")
        if p.is_file() and not set(p.relative_to(root).parts) & set(_IGNORED)
    )


def _copy(source: Path, target: Path) -> Path:
    shutil.copytree(source, target, ignore=shutil.ignore_patterns(*_IGNORED))
    return target


MODULES = _files(APP, ".py")
FIXED_FILES = _files(FIXED)

FIXED_MODULES = _files(FIXED, ".py")


@pytest.fixture(scope="module")
def rules() -> RuleSet:
    return load_rule_set([])


# ----------------------------------------------------------------------------- audit


@dataclass(frozen=True)
class Audit:
    expected: dict[tuple[str, int], list[str]]
    actual: dict[tuple[str, int], list[str]]


@pytest.fixture(scope="module")
def audit(tmp_path_factory: pytest.TempPathFactory) -> Audit:
    root = _copy(APP, tmp_path_factory.mktemp("audit") / "app")
    expected = _expected(root)
    return Audit(expected, _normalise_expected(expected, _actual(root)))


@pytest.mark.parametrize("module", MODULES)
def test_markers_hold(audit: Audit, module: str) -> None:
    expected = {line: items for (path, line), items in audit.expected.items() if path == module}
    actual = {line: items for (path, line), items in audit.actual.items() if path == module}
    assert actual == expected


MARKERS = _expected(APP)


def _plans(module: str) -> list[tuple[str, str | None]]:
    """(kind, plan) of every marker of `module`, in line order."""
    found = []
    for (path, _line), items in sorted(MARKERS.items()):
        if path == module:
            for item in items:
                kind, _, plan = item.partition(" fix=")
                found.append((kind, plan or None))
    return found


def test_markers_are_well_formed() -> None:
    kinds = {kind.value for kind in Kind}
    rewrites = {FixAction.FACTORY.value, FixAction.CONTEXT_MANAGER.value}
    for module in MODULES:
        for kind, plan in _plans(module):
            assert kind in kinds, f"{module}: unknown kind {kind!r}"
            if kind == Kind.MIGRATED.value:
                assert plan is None, f"{module}: a migrated site has no plan"
                continue
            assert plan is not None, f"{module}: every other site states its plan"
            action, _, reason = plan.partition(":")
            if action == FixAction.MANUAL.value:
                assert reason in REASONS or reason.startswith(
                    ("unmapped-argument:", "missing-argument:")
                ), f"{module}: unknown reason {reason!r}"
            else:
                assert action in rewrites and not reason, f"{module}: bad plan {plan!r}"


def test_every_new_reason_and_kind_has_a_case() -> None:
    planned = {plan for module in MODULES for _kind, plan in _plans(module)}
    kinds = {kind for module in MODULES for kind, _plan in _plans(module)}
    reasons = {p.partition(":")[2] for p in planned if p and p.startswith("manual:")}
    assert {
        "context-mismatch",
        "factory-internal",
        "super-init",
        "name-taken",
        "unittest-method",
        "fixture-scope",
        "not-a-test",
    } <= reasons
    assert kinds == {kind.value for kind in Kind}


# ----------------------------------------------------------------------------- fix


@pytest.fixture(scope="module")
def fixed(tmp_path_factory: pytest.TempPathFactory, rules: RuleSet) -> tuple[Path, FixPlanResult]:
    root = _copy(APP, tmp_path_factory.mktemp("fix") / "app")
    return root, _fix(root, rules, Style.AUTO)


def test_fix_reports_no_error(fixed: tuple[Path, FixPlanResult]) -> None:
    _root, result = fixed
    assert not result.audit.errors, result.audit.errors
    assert not result.write_errors, result.write_errors
    assert [(c.path, c.error) for c in result.changes if c.error] == []


def test_fix_writes_exactly_the_expected_files(fixed: tuple[Path, FixPlanResult]) -> None:
    root, _result = fixed
    assert _files(root) == _files(FIXED)


@pytest.mark.parametrize("path", FIXED_FILES)
def test_fix_output_matches(fixed: tuple[Path, FixPlanResult], path: str) -> None:
    root, _result = fixed
    wanted = (FIXED / path).read_bytes()
    got = (root / path).read_bytes() if (root / path).exists() else b""
    # A readable text diff first, then byte for byte.
    assert got.decode("utf-8") == wanted.decode("utf-8")
    assert got == wanted


def test_second_fix_changes_nothing(
    fixed: tuple[Path, FixPlanResult], rules: RuleSet, tmp_path: Path
) -> None:
    root = _copy(fixed[0], tmp_path / "again")
    before = {p: (root / p).read_bytes() for p in _files(root)}
    again = _fix(root, rules, Style.AUTO)
    assert [c.path for c in again.changes if c.changed] == []
    assert {p: (root / p).read_bytes() for p in _files(root)} == before


def test_fix_of_the_expected_tree_changes_nothing(rules: RuleSet, tmp_path: Path) -> None:
    """`check` after `fix` stays clean: the expected tree leaves nothing to rewrite."""
    root = _copy(FIXED, tmp_path / "expected")
    again = _fix(root, rules, Style.AUTO)
    assert [c.path for c in again.changes if c.changed] == []


# ------------------------------------------------- properties of a fixed tree (both trees)


def _undefined_names(source: bytes, filename: str) -> set[str]:
    tree = ast.parse(source, filename)
    found = checker.Checker(tree, filename=filename).messages
    return {m.message_args[0] for m in found if isinstance(m, messages.UndefinedName)}


def _module_name(path: str) -> str:
    parts = path.removesuffix(".py").split("/")
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _self_imports(source: bytes, path: str) -> list[str]:
    """Imports in `path` that name the module itself (absolute or relative)."""
    own = _module_name(path)
    package = own if path.endswith("__init__.py") else own.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(source, path)):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names if alias.name == own]
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".") if package else []
            if node.level:
                base = base[: len(base) - (node.level - 1)]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            # `from . import x` imports the submodule x, not the package itself.
            targets = (
                [f"{target}.{a.name}" for a in node.names] if node.module is None else [target]
            )
            if own in targets:
                found.append(f"from {'.' * node.level}{node.module or ''} import ...")
    return found


def _tree_root(which: str, fixed: tuple[Path, FixPlanResult]) -> Path:
    return FIXED if which == "expected" else fixed[0]


@pytest.mark.parametrize("which", ["expected", "fix-output"])
@pytest.mark.parametrize("path", FIXED_MODULES)
def test_fixed_module_is_sound(which: str, path: str, fixed: tuple[Path, FixPlanResult]) -> None:
    """Compiles; pyflakes finds no name undefined that was defined before; no self-import."""
    root = _tree_root(which, fixed)
    assert (root / path).exists(), f"{path} is missing from the {which} tree"
    data = (root / path).read_bytes()
    compile(data, path, "exec", dont_inherit=True)
    original = (APP / path).read_bytes()
    assert _undefined_names(data, path) - _undefined_names(original, path) == set()
    assert _self_imports(data, path) == []


def test_self_import_check_detects_one() -> None:
    """The self-import check itself: absolute and relative spellings are both caught."""
    path = "netra_backend/app/agents/tool_dispatcher_unified.py"
    assert _self_imports(b"from netra_backend.app.agents.tool_dispatcher_unified import X\n", path)
    assert _self_imports(b"from .tool_dispatcher_unified import X\n", path)
    assert not _self_imports(b"from .tool_dispatcher import X\n", path)
    assert not _self_imports(b"from . import tool_dispatcher\n", path)
    assert _self_imports(b"from . import tool_dispatcher_unified\n", path)


@pytest.mark.parametrize("module", MODULES)
def test_expected_tree_rewrites_exactly_where_a_marker_plans_it(module: str) -> None:
    rewrites = {FixAction.FACTORY.value, FixAction.CONTEXT_MANAGER.value}
    planned = any(plan in rewrites for _kind, plan in _plans(module))
    changed = (APP / module).read_bytes() != (FIXED / module).read_bytes()
    assert changed == planned


def test_expected_tree_has_the_same_files() -> None:
    assert _files(FIXED) == _files(APP)
    # What is not Python (this README, pytest.ini) is copied as it is.
    others = [p for p in _files(APP) if not p.endswith(".py")]
    assert others and all((APP / p).read_bytes() == (FIXED / p).read_bytes() for p in others)


# ----------------------------------------------------------------------------- scenario


def _scenario(tree: Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    root = _copy(tree, tmp_path / "scenario")
    return subprocess.run(
        [sys.executable, "scenario.py"],
        cwd=root,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        timeout=600,
    )


def test_scenario_fails_on_the_code_as_written(tmp_path: Path) -> None:
    run = _scenario(APP, tmp_path)
    assert run.returncode == 1, run.stdout + run.stderr
    assert "BROKEN" in run.stdout
    # Old constructions without a context, and the shared legacy dispatcher, are both caught.
    assert "missing 1 required positional argument: 'user_context'" in run.stdout
    assert "used the process-wide legacy dispatcher" in run.stdout


def test_scenario_passes_on_the_expected_tree(tmp_path: Path) -> None:
    run = _scenario(FIXED, tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "WORKS: 16 rewritten functions and 26 rewritten tests" in run.stdout


def test_scenario_passes_on_the_fix_output(
    fixed: tuple[Path, FixPlanResult], tmp_path: Path
) -> None:
    run = _scenario(fixed[0], tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
