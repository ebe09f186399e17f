"""Gitignore matching (migrator/ignore.py): pathspec's answers, without its hostile-input costs."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pathspec
from hypothesis import given, settings
from hypothesis import strategies as st

from migrator.ignore import PatternSet

SEGMENTS = st.sampled_from(
    ["a", "b", "ab", "a*", "*b", "*", "?", "[ab]", "[!a]", "**", "a?b", "*a*", "x.py", "a\\*"]
)
PATTERNS = st.builds(
    lambda negated, leading, segments, trailing: (
        ("!" if negated else "")
        + ("/" if leading else "")
        + "/".join(segments)
        + ("/" if trailing else "")
    ),
    st.booleans(),
    st.booleans(),
    st.lists(SEGMENTS, min_size=1, max_size=3),
    st.booleans(),
)
NAMES = st.sampled_from(["a", "b", "ab", "aab", "ba", "x.py", "c", "a*"])


def _walked(match: object, parts: list[str], is_dir: bool) -> bool:
    """Ignored as discovery asks: a folder above it is ignored, or the path itself."""
    for depth in range(1, len(parts) + 1):
        whole = depth == len(parts)
        if match("/".join(parts[:depth]), is_dir if whole else True):  # type: ignore[operator]
            return True
    return False


@settings(max_examples=400, deadline=None)
@given(
    patterns=st.lists(PATTERNS, min_size=1, max_size=4),
    parts=st.lists(NAMES, min_size=1, max_size=4),
    is_dir=st.booleans(),
)
def test_pattern_set_answers_as_pathspec_does(
    patterns: list[str], parts: list[str], is_dir: bool
) -> None:
    spec = pathspec.GitIgnoreSpec.from_lines(patterns)
    expected = _walked(lambda rel, d: bool(spec.match_file(rel + "/" if d else rel)), parts, is_dir)
    assert _walked(PatternSet(patterns).match, parts, is_dir) == expected


def _discover_in_subprocess(root: Path, exclude: list[str]) -> list[str]:
    """Run discovery in a child process, so that a matcher that backtracks for hours
    fails the test (by the guard below, far above the seconds it takes) instead of
    hanging the suite."""
    script = textwrap.dedent(
        """
        import json, sys
        from pathlib import Path
        from migrator.discovery import discover
        root = Path(sys.argv[1])
        exclude = json.loads(sys.stdin.read())
        print(json.dumps([f.relpath for f in discover(root, [str(root)], exclude=exclude).files]))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(root)],
        input=json.dumps(exclude),
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    return list(json.loads(done.stdout))


def test_a_backtracking_gitignore_pattern_does_not_stall_discovery(tmp_path: Path) -> None:
    """`*a*a*a*a*a*a*a*a*a*a*b` against a long name of `a`s: hours with a backtracking regex."""
    (tmp_path / ".gitignore").write_text("*a*a*a*a*a*a*a*a*a*a*b\n")
    for folder in ["a" * 200, "a" * 40 + "b", "kept"]:
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "m.py").write_text("x = 1\n")
    (tmp_path / ("a" * 100 + ".py")).write_text("x = 1\n")
    assert _discover_in_subprocess(tmp_path, []) == [
        f"{'a' * 100}.py",
        f"{'a' * 200}/m.py",
        "kept/m.py",
    ]


def test_a_hundred_thousand_exclude_patterns(tmp_path: Path) -> None:
    for rel in [
        "app/main.py",
        "app/gen_7/x.py",
        "app/data.tmp42.py",
        "src/m99.py",
        "src/m100000.py",
        "lib/x17zy.py",
        "lib/keep.py",
    ]:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("x = 1\n")
    exclude = (
        [f"gen_{i}/" for i in range(20000)]
        + [f"*.tmp{i}.py" for i in range(20000)]
        + [f"/src/m{i}.py" for i in range(20000)]
        + [f"x{i}?y.py" for i in range(20000)]
        + [f"*{i}*q*" for i in range(20000)]
    )
    assert len(exclude) == 100000
    assert _discover_in_subprocess(tmp_path, exclude) == [
        "app/main.py",
        "lib/keep.py",
        "src/m100000.py",
    ]
