"""A bad rule pack is refused with the file, line and key at fault, never loaded half-way."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from migrator.rules import RulePackError, load_pack, parse_pack

GOOD = """\
id: demo
classes:
  - id: demo-client
    class: app.db.Client
    signature: [session]
    context_parameter: session
"""


def _error(text: str) -> RulePackError:
    with pytest.raises(RulePackError) as info:
        parse_pack(text, "pack.yaml")
    return info.value


def test_good_pack_loads() -> None:
    assert parse_pack(GOOD, "pack.yaml").id == "demo"


def test_python_object_tag_is_refused_without_running_anything() -> None:
    error = _error("id: !!python/object/apply:os.system ['touch /tmp/pwned']\nclasses: []\n")
    assert "YAML tag" in str(error) and error.line == 1


def test_custom_tag_is_refused() -> None:
    assert "not allowed" in str(_error(GOOD.replace("id: demo\n", "id: !custom demo\n")))


def test_billion_laughs_is_refused_quickly() -> None:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for index in range(1, 10):
        ref = chr(ord("a") + index - 1)
        lines.append(
            f"{chr(ord('a') + index)}: &{chr(ord('a') + index)} [*{ref},*{ref},*{ref},*{ref},*{ref},*{ref}]"
        )
    started = time.perf_counter()
    error = _error("\n".join(lines) + "\n")
    assert time.perf_counter() - started < 1.0
    assert "anchors" in str(error) or "aliases" in str(error)
    assert error.line == 1


def test_alias_alone_is_refused() -> None:
    assert "aliases" in str(_error("id: *missing\n")) or "invalid YAML" in str(
        _error("id: *missing\n")
    )


def test_unknown_key_names_file_line_key_and_allowed_keys() -> None:
    error = _error(GOOD + "    colour: blue\n")
    assert error.path == "pack.yaml" and error.line == 7
    assert error.key == "classes[0].colour"
    assert "unknown key" in error.message and "signature" in error.message


def test_wrong_type_names_expected_and_actual() -> None:
    error = _error(GOOD.replace("signature: [session]", "signature: session"))
    assert error.key == "classes[0].signature" and error.line == 5
    assert "expected a list" in error.message and "str" in error.message


def test_wrong_scalar_type_is_refused() -> None:
    error = _error(GOOD + "version: two\n")
    assert error.key == "version" and "integer" in error.message


def test_invalid_yaml_reports_the_line() -> None:
    error = _error("id: demo\nclasses: [\n")
    assert "invalid YAML" in error.message and error.line is not None


def test_empty_file_says_what_is_needed() -> None:
    assert "empty" in _error("").message


def test_file_level_errors(tmp_path: Path) -> None:
    with pytest.raises(RulePackError, match="file not found"):
        load_pack(tmp_path / "missing.yaml")
    (tmp_path / "latin.yaml").write_bytes(b"id: caf\xe9\n")
    with pytest.raises(RulePackError, match="not UTF-8"):
        load_pack(tmp_path / "latin.yaml")
    (tmp_path / "big.yaml").write_bytes(b"#" * 2_000_000)
    with pytest.raises(RulePackError, match="at most 1 MB"):
        load_pack(tmp_path / "big.yaml")


PASSWD = "root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
SSH_KEY = (
    "-----BEGIN OPENSSH PRIVATE KEY-----\n"
    "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n"
    "-----END OPENSSH PRIVATE KEY-----\n"
)
TOKEN = "ghp_0123456789abcdefghijklmnopqrstuvwxyzAB\n"


@pytest.mark.parametrize(
    "content", [PASSWD, SSH_KEY, TOKEN], ids=["passwd", "ssh-key", "one-line-token"]
)
def test_an_error_never_prints_a_files_contents(tmp_path: Path, content: str) -> None:
    """A file named as a pack by mistake (or by a hostile configuration) stays out of the log."""
    path = tmp_path / "secret"
    path.write_text(content)
    with pytest.raises(RulePackError) as info:
        load_pack(path)
    message = str(info.value)
    assert f"{path}:1: expected a mapping" in message
    for line in content.splitlines():
        for piece in (line[:12], line[-12:]):
            assert piece not in message
