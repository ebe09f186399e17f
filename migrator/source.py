"""Read a Python file's bytes and decode them exactly as Python would (PEP 263).

The encoding, BOM and line endings are kept so that a rewrite can be written
back in the same form.
"""

from __future__ import annotations

import codecs
import io
import tokenize
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
    newline = "\r\n" if "\r\n" in text else ("\r" if "\r" in text and "\n" not in text else "\n")
    return SourceText(text=text, encoding=python_encoding, bom=bom, newline=newline)


def encode(source: SourceText, text: str) -> bytes:
    """Encode `text` the way `source` was encoded (BOM included)."""
    data = text.encode(source.encoding)
    return codecs.BOM_UTF8 + data if source.bom else data
