"""Read a Python file's bytes and decode them exactly as Python would (PEP 263).

The encoding, BOM and line endings are kept so that a rewrite can be written
back in the same form.

The names a rule pack looks for are searched in the bytes first, and the code
Python runs is not always what its bytes spell:

- an identifier that NFKC normalisation changes: Python reads `ToolDispatⅽher`
  (with U+217D) as `ToolDispatcher` (PEP 3131). The search looks at such a file's
  normalised text (`searchable`), and the extractor, on CPython's `ast`, reads the
  identifier as Python does;
- a coding that is not ASCII-transparent (`utf-7`, `unicode_escape`,
  `raw_unicode_escape`, ...): `+AFQ-oolDispatcher` is `ToolDispatcher` to Python.
  Such a file is refused, as one that cannot be analysed (which fails the gate).

`hides_names` tells the search to send both kinds of file on to decoding.
"""

from __future__ import annotations

import codecs
import io
import re
import tokenize
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass


class SourceError(Exception):
    """The file cannot be read as Python source; the message is one line for people."""


@dataclass(frozen=True)
class SourceText:
    text: str
    encoding: str
    bom: bool
    newline: str


def decode(raw: bytes) -> SourceText:
    if b"\0" in raw:
        raise SourceError("contains null bytes; not Python source")
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(raw).readline)
    except SyntaxError as error:
        if "invalid or missing encoding declaration" not in str(error.msg):
            raise SourceError(f"bad coding declaration: {error.msg}") from None
        # The first two lines are not UTF-8 and declare nothing: decoding as UTF-8
        # below names the byte and its offset, which says more than tokenize does.
        encoding = "utf-8"
    bom = raw.startswith(codecs.BOM_UTF8)
    body = raw[len(codecs.BOM_UTF8) :] if bom else raw
    python_encoding = "utf-8" if encoding == "utf-8-sig" else encoding
    try:
        text = body.decode(python_encoding)
    except UnicodeDecodeError as error:
        raise SourceError(
            f"not valid {python_encoding} (byte 0x{body[error.start]:02x} at offset {error.start}); "
            "add a coding declaration or fix the encoding"
        ) from None
    except LookupError:
        raise SourceError(f"unknown encoding {encoding!r} in the coding declaration") from None
    if not ascii_transparent(python_encoding):
        raise SourceError(
            f"the coding {encoding!r} can spell code that a search of the bytes does not "
            "see; not analysed (save the file as UTF-8)"
        )
    newline = "\r\n" if "\r\n" in text else ("\r" if "\r" in text and "\n" not in text else "\n")
    return SourceText(text=text, encoding=python_encoding, bom=bom, newline=newline)


#: Every ASCII byte, then the escapes of the codecs that turn ASCII into other text.
_PROBE = bytes(range(128)) + b" +AGE- \\u0063 \\x63 \\143 \\N{LATIN SMALL LETTER C}"


def ascii_transparent(encoding: str) -> bool:
    """Whether `encoding` decodes ASCII text to itself, escapes included (so a search
    of the bytes for an ASCII name sees what Python sees)."""
    import warnings

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # unicode_escape warns about `\]`
            return _PROBE.decode(encoding) == _PROBE.decode("ascii")
    except (UnicodeDecodeError, LookupError):
        return False


def searchable(raw: bytes) -> bytes:
    """`raw` as the search must see it: NFKC-normalised when that changes it (as Python
    normalises identifiers), else `raw` itself (every ASCII file)."""
    if raw.isascii():
        return raw
    text = raw.decode("utf-8", "replace")
    if unicodedata.is_normalized("NFKC", text):
        return raw
    return unicodedata.normalize("NFKC", text).encode("utf-8")


#: A PEP 263 coding declaration.
_CODING = re.compile(rb"^[ \t\f]*#.*?coding[:=][ \t]*([-\w.]+)", re.M)


def hides_names(raw: bytes, words: Iterable[bytes]) -> bool:
    """Whether `raw` may name one of `words` in a way a search of its bytes misses.

    True for a declared coding that is not ASCII-transparent, and for non-ASCII
    text whose NFKC form holds a word the bytes do not: such a file must be decoded
    (where `decode` refuses it) instead of being passed over.
    """
    head = raw[:1024]
    declared = _CODING.search(b"\n".join(head.split(b"\n", 2)[:2])) if b"coding" in head else None
    if declared is not None and not ascii_transparent(declared.group(1).decode("ascii")):
        return True
    normal = searchable(raw)
    return normal is not raw and any(word in normal for word in words)


def encode(source: SourceText, text: str) -> bytes:
    """Encode `text` the way `source` was encoded (BOM included)."""
    data = text.encode(source.encoding)
    return codecs.BOM_UTF8 + data if source.bom else data


def restore_layout(before: str, after: str) -> str:
    """Put back what LibCST drops when it prints a module it parsed from `before`.

    LibCST loses the final `\\r` of a file whose lines end in a lone CR, and a form
    feed at the start of a line that holds code (`\\fdef f():`, page breaks in old
    sources). Lines that the rewrite kept get their form feeds back, matched in
    order by their text, and the file ends as it ended before.
    """
    if "\f" in before:
        after = _restore_form_feeds(before, after)
    for ending in ("\r\n", "\r", "\n"):
        if before.endswith(ending):
            if after and not after.endswith(("\r", "\n")):
                after += ending
            break
    return after


def _restore_form_feeds(before: str, after: str) -> str:
    import difflib

    old_lines = _lines(before)
    new_lines = _lines(after)
    feeds = [line[: len(line) - len(line.lstrip("\f"))] for line in old_lines]
    if not any(
        feed and line.strip("\f \t\r\n") for feed, line in zip(feeds, old_lines, strict=True)
    ):
        return after
    stripped = [line[len(feed) :] for feed, line in zip(feeds, old_lines, strict=True)]
    matcher = difflib.SequenceMatcher(None, stripped, new_lines, autojunk=False)
    for tag, i1, i2, j1, _j2 in matcher.get_opcodes():
        if tag != "equal":
            continue
        for offset in range(i2 - i1):
            feed = feeds[i1 + offset]
            if feed and not new_lines[j1 + offset].startswith("\f"):
                new_lines[j1 + offset] = feed + new_lines[j1 + offset]
    return "".join(new_lines)


def _lines(text: str) -> list[str]:
    """Lines with their endings, split as Python splits them (`str.splitlines` also splits at `\f`)."""
    import re

    return re.findall(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$", text)
