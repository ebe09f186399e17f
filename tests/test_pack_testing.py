"""The `testing` section of a rule pack (issue 13): validated like the rest, used by `fix`."""

from __future__ import annotations

from pathlib import Path

import pytest

from migrator.config import Config
from migrator.fixer import plan_fixes, write_changes
from migrator.rules import RulePackError, load_rule_set, parse_pack

PACK = """\
id: demo
classes:
  - id: demo-dispatcher
    class: migrator.reference.dispatcher.UnifiedToolDispatcher
    aliases: [migrator.reference.ToolDispatcher]
    signature: [user_context, tools]
    context_parameter: user_context
    factory:
      call: migrator.reference.UnifiedToolDispatcherFactory.create_request_scoped
      parameters: [user_context, tools]
testing:
  fixture: user_context
  conftest: tests/conftest.py
  build: "UserExecutionContext.from_request(user_id='t', thread_id='t', run_id='t')"
  imports: [migrator.reference.UserExecutionContext]
"""


def _error(text: str) -> RulePackError:
    with pytest.raises(RulePackError) as info:
        parse_pack(text, "pack.yaml")
    return info.value


def test_a_testing_section_loads() -> None:
    testing = parse_pack(PACK, "pack.yaml").testing
    assert testing is not None
    assert (testing.fixture, testing.conftest, testing.plugins) == (
        "user_context",
        "tests/conftest.py",
        (),
    )
    assert testing.imports == ("migrator.reference.UserExecutionContext",)


@pytest.mark.parametrize("pack", ["tool-dispatcher", "reference"])
def test_shipped_packs_have_a_test_context(pack: str) -> None:
    testing = load_rule_set([pack]).testing
    assert testing is not None and testing.fixture == "user_context"
    assert testing.imports[0].endswith(".UserExecutionContext")


@pytest.mark.parametrize(
    ("old", "new", "line", "key", "words"),
    [
        ("  fixture: user_context", "  fixture: user-context", 12, "testing.fixture", "identifier"),
        (
            "  conftest: tests/conftest.py",
            "  conftest: ../conftest.py",
            13,
            "testing.conftest",
            "inside the project",
        ),
        (
            "  conftest: tests/conftest.py",
            "  conftest: tests/fixtures.py",
            13,
            "testing.conftest",
            "conftest.py",
        ),
        ('  build: "User', '  build: "(User', 14, "testing.build", "not a Python expression"),
        (
            "  imports: [migrator",
            "  imports: [3, migrator",
            15,
            "testing.imports[0]",
            "expected a string",
        ),
        ("  imports: [", "  colour: blue\n  imports: [", 15, "testing.colour", "unknown key"),
        ('  build: "User', '  builds: "User', 14, "testing.builds", "unknown key"),
    ],
    ids=["fixture", "conftest-outside", "conftest-name", "build", "imports", "unknown", "typo"],
)
def test_a_bad_testing_section_names_file_line_and_key(
    old: str, new: str, line: int, key: str, words: str
) -> None:
    assert old in PACK
    error = _error(PACK.replace(old, new, 1))
    assert (error.path, error.line, error.key) == ("pack.yaml", line, key)
    assert words in error.message


def test_a_missing_required_key_is_named() -> None:
    error = _error(PACK.replace("  conftest: tests/conftest.py\n", ""))
    assert error.key == "testing.conftest" and "required" in error.message


def _tree(root: Path, relpath: str) -> Path:
    path = root / relpath
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        "from migrator.reference import ToolDispatcher\n\n\n"
        "async def test_echo():\n"
        "    dispatcher = ToolDispatcher(tools=[])\n"
        "    assert dispatcher.tool_names == ()\n"
    )
    return path


def _fix(root: Path, pack: str) -> object:
    (root / "pack.yaml").write_text(pack)
    rules = load_rule_set([str(root / "pack.yaml")])
    return write_changes(
        plan_fixes(Config(root=root, cache=False, jobs=1), rules, [str(root)]), root
    )


def test_a_test_the_conftest_cannot_reach_is_left_unchanged(tmp_path: Path) -> None:
    test = _tree(tmp_path, "integration/test_x.py")
    before = test.read_bytes()
    result = _fix(tmp_path, PACK)
    assert test.read_bytes() == before
    assert not (tmp_path / "tests" / "conftest.py").exists()
    (error,) = result.write_errors  # type: ignore[attr-defined]
    assert error[0] == "integration/test_x.py"
    assert "not above this file" in error[1] and "define the fixture" in error[1]


def test_a_plugin_that_provides_the_fixture_means_no_conftest(tmp_path: Path) -> None:
    test = _tree(tmp_path, "tests/test_x.py")
    _fix(tmp_path, PACK + "  plugins: [our_testing.fixtures]\n")
    assert "user_context" in test.read_text()
    assert not (tmp_path / "tests" / "conftest.py").exists()


def test_a_fixture_above_the_test_is_used_not_defined_again(tmp_path: Path) -> None:
    test = _tree(tmp_path, "tests/unit/test_x.py")
    root_conftest = tmp_path / "conftest.py"
    root_conftest.write_text(
        "import pytest\n\n\n@pytest.fixture\ndef user_context():\n    return 1\n"
    )
    _fix(tmp_path, PACK)
    assert "async def test_echo(user_context):" in test.read_text()
    assert not (tmp_path / "tests" / "conftest.py").exists()
