"""HTML building blocks of the run report: one self-contained page, no external URLs.

Every image is embedded as a base64 PNG ``data:`` URI and the style sheet is inline, so the page
opens the same from a laptop, a mail attachment or a CI artefact. Text is always escaped.
"""

from __future__ import annotations

import base64
import html
from dataclasses import dataclass
from typing import Any

from transferkit.core.display import number

CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0; color: #1d2330;
       background: #f6f7f9; }
header { background: #1d2330; color: #fff; padding: 18px 32px; }
header h1 { margin: 0 0 4px 0; font-size: 22px; }
header p { margin: 0; color: #c9d1e0; font-size: 14px; }
nav { padding: 8px 32px; background: #e9ecf2; font-size: 14px; }
nav a { margin-right: 14px; color: #2a4d8f; text-decoration: none; }
main { padding: 8px 32px 40px 32px; max-width: 1200px; }
section { background: #fff; border-radius: 6px; padding: 12px 20px; margin: 16px 0;
          box-shadow: 0 1px 2px rgba(0,0,0,0.08); }
h2 { font-size: 18px; margin: 6px 0 10px 0; }
h3 { font-size: 15px; margin: 14px 0 6px 0; }
table { border-collapse: collapse; font-size: 13px; margin: 6px 0 12px 0; }
th, td { border-bottom: 1px solid #e3e6ec; padding: 4px 10px; text-align: left; }
th { background: #f1f3f7; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
pre { background: #f1f3f7; padding: 10px; font-size: 12px; overflow-x: auto; }
figure { display: inline-block; margin: 6px 10px 10px 0; vertical-align: top; }
figcaption { font-size: 12px; color: #4a5365; max-width: 420px; }
img { max-width: 100%; }
.block { display: inline-block; vertical-align: top; margin-right: 28px; max-width: 100%; }
.note { color: #8a5a00; background: #fff6e0; padding: 6px 10px; border-radius: 4px; }
"""


@dataclass
class Section:
    """One titled part of the report; ``body`` is HTML made with the helpers of this module."""

    title: str
    body: str

    @property
    def anchor(self) -> str:
        return "".join(c if c.isalnum() else "-" for c in self.title.lower()).strip("-")


def esc(value: Any) -> str:
    """HTML-escaped text of ``value``."""
    return html.escape(str(value), quote=True)


def fmt(value: Any) -> str:
    """Numbers for tables as the command line prints them (``core.display.number``): floats to
    4 decimals, ints with thousands separators."""
    return number(value)


def table(columns: list[str], rows: list[list[Any]]) -> str:
    """A table; numbers are right-aligned and formatted with :func:`fmt`."""
    head = "".join(f"<th>{esc(c)}</th>" for c in columns)
    body = []
    for row in rows:
        cells = []
        for v in row:
            num = isinstance(v, (int, float)) and not isinstance(v, bool)
            cls = ' class="num"' if num else ""
            cells.append(f"<td{cls}>{esc(fmt(v))}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def image(png: bytes, alt: str, caption: str | None = None, width: int | None = None) -> str:
    """An embedded PNG (base64 data URI) in a figure, with an optional caption."""
    data = base64.b64encode(png).decode("ascii")
    size = f' width="{int(width)}"' if width else ""
    box = f' style="width: {int(width)}px"' if width else ""  # the caption wraps to the image
    cap = f"<figcaption>{esc(caption)}</figcaption>" if caption else ""
    return (
        f'<figure{box}><img src="data:image/png;base64,{data}" alt="{esc(alt)}"{size}>'
        f"{cap}</figure>"
    )


def para(text: str) -> str:
    return f"<p>{esc(text)}</p>"


def note(text: str) -> str:
    """A highlighted remark (missing data, skipped parts)."""
    return f'<p class="note">{esc(text)}</p>'


def pre(text: str) -> str:
    return f"<pre>{esc(text)}</pre>"


def heading(text: str) -> str:
    return f"<h3>{esc(text)}</h3>"


def render_page(title: str, subtitle: str, sections: list[Section]) -> str:
    """The whole page: header, a table of contents, the sections."""
    nav = "".join(f'<a href="#{s.anchor}">{esc(s.title)}</a>' for s in sections)
    parts = [
        f'<section id="{s.anchor}"><h2>{esc(s.title)}</h2>{s.body}</section>' for s in sections
    ]
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)}</title><style>{CSS}</style></head><body>"
        f"<header><h1>{esc(title)}</h1><p>{esc(subtitle)}</p></header>"
        f"<nav>{nav}</nav><main>{''.join(parts)}</main></body></html>\n"
    )
