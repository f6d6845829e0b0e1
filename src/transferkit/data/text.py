"""Annotation text files are UTF-8: read them so, and name the file and the fix when they are not.

Windows tools often save CSV, JSON and label files as UTF-8 with a byte-order mark (accepted) or in
the machine's code page (Windows-1252 / Latin-1) or UTF-16 (refused: which bytes mean which
letters cannot be known, and a wrong guess would silently rename classes).
"""

from __future__ import annotations

from pathlib import Path

from transferkit.core.errors import DatasetError


def read_text(path: Path) -> str:
    """The text of ``path`` decoded as UTF-8 (a BOM is dropped); else a one-line DatasetError."""
    raw = Path(path).read_bytes()
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        guess = encoding_guess(raw)
        raise DatasetError(
            f"{path}:{line}: not UTF-8 text (byte 0x{raw[e.start]:02x}); it looks like {guess}",
            hint=f"save the file as UTF-8 (e.g. iconv -f {ICONV[guess]} -t UTF-8 {Path(path).name}"
            " > fixed; or 'Save as… UTF-8' in an editor)",
        ) from None


ICONV = {"UTF-16": "UTF-16", "Windows-1252 / Latin-1": "WINDOWS-1252"}


def encoding_guess(raw: bytes) -> str:
    """The likely encoding of bytes that are not UTF-8 (for the message only)."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")) or raw[:200].count(b"\x00") > 10:
        return "UTF-16"
    return "Windows-1252 / Latin-1"


def number_in(text: str | None, field: str) -> float:
    """``text`` (an XML or CSV field) as a number; a ValueError naming ``field`` and the text."""
    try:
        return float(text)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ValueError(f"<{field}> is {text!r}, not a number") from None
