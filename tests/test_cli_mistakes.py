"""Mistakes a user (or a CI script with an unset variable) makes never pass the gate.

Each case runs the real command: a mistyped path, an empty `--fail-on`, and the
one-time `--write-baseline` step of a `set -e` CI script.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from migrator.cli import app

APP = Path(__file__).resolve().parent.parent / "fixtures" / "legacy_app"


def _invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.output


@pytest.mark.parametrize(
    "command",
    [
        pytest.param(["fix", "--check"], id="fix-check"),
        pytest.param(["fix", "--diff"], id="fix-diff"),
        pytest.param(["fix"], id="fix"),
        pytest.param(["report"], id="report"),
    ],
)
def test_a_path_that_does_not_exist_is_a_usage_error(tmp_path: Path, command: list[str]) -> None:
    missing = tmp_path / "nope-dir"
    code, output = _invoke(*command, str(missing), "--root", str(tmp_path))
    assert code == 2
    assert "nope-dir: no such file or folder" in output


@pytest.mark.parametrize("value", ["", ",", " ", " , "], ids=["empty", "comma", "blank", "blanks"])
@pytest.mark.parametrize("command", ["audit", "report"])
def test_an_empty_fail_on_is_refused_not_a_gate_that_passes(command: str, value: str) -> None:
    code, output = _invoke(command, str(APP), "--no-cache", "--fail-on", value)
    assert code == 2
    assert "--fail-on: names no kind" in output


def test_an_empty_fail_on_in_the_configuration_is_refused(tmp_path: Path) -> None:
    (tmp_path / "migrator.yaml").write_text("fail_on: []\n")
    (tmp_path / "m.py").write_text("x = 1\n")
    code, output = _invoke("audit", str(tmp_path), "--no-cache")
    assert code == 2
    assert "fail_on: names no kind" in output


def test_writing_a_baseline_passes_and_the_baseline_then_tolerates_every_site(
    tmp_path: Path,
) -> None:
    baseline = tmp_path / "baseline.json"
    code, _ = _invoke("audit", str(APP), "--no-cache", "--write-baseline", str(baseline))
    assert code == 0
    assert _invoke("audit", str(APP), "--no-cache", "--baseline", str(baseline))[0] == 0
    # Without the baseline the same tree still blocks: the exit 0 above is the baseline's.
    assert _invoke("audit", str(APP), "--no-cache")[0] == 1


@pytest.mark.parametrize("pack", ["tool-dispatcher", "reference"])
def test_rules_check_accepts_a_shipped_pack_id_as_rules_and_show_do(pack: str) -> None:
    code, output = _invoke("rules", "check", pack)
    assert code == 0, output
    assert "ok: pack" in output


def test_split_patches_count_patches_and_descriptions_apart(tmp_path: Path) -> None:
    import shutil

    app_copy = tmp_path / "app"
    shutil.copytree(APP, app_copy)
    out = tmp_path / "split"
    result = CliRunner().invoke(
        app,
        [
            *("fix", str(app_copy), "--root", str(app_copy), "--no-cache", "--diff"),
            *("--split-by", "package", "--output", str(out)),
        ],
    )
    patches = len(list(out.glob("*.patch")))
    descriptions = len(list(out.glob("*.md")))
    assert patches and descriptions
    assert f"wrote {patches} patch file(s) and {descriptions} description(s)" in result.output
