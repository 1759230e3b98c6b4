"""HTML building blocks of the quality reports: escaped-by-default fragments, tables, images,
badges, number formatting, and the self-contained page (inline CSS, no script, no network)."""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

__all__ = [
    "DASH",
    "Html",
    "badge",
    "details",
    "duration",
    "esc",
    "figure_block",
    "join",
    "key_values",
    "kpis",
    "number",
    "page",
    "paragraph",
    "percent",
    "score_badge",
    "section",
    "shorten",
    "slug",
    "table",
    "tag",
    "when",
]


class Html(str):
    """Text that is already HTML, built by these helpers: never escaped again. Anything else
    that reaches a page (names, descriptions, category values, messages) is escaped."""

    __slots__ = ()

    def __add__(self, other: str) -> Html:
        return Html(str.__add__(self, esc(other)))

    def __radd__(self, other: str) -> Html:
        return Html(str.__add__(esc(other), self))


def esc(value: object) -> Html:
    """`value` as HTML: an Html fragment as it is, anything else as escaped text."""
    if isinstance(value, Html):
        return value
    return Html(html.escape("" if value is None else str(value), quote=True))


def join(parts: Iterable[object], separator: str = "") -> Html:
    return Html(esc(separator).join(esc(part) for part in parts))


def tag(name: str, *children: object, **attributes: object) -> Html:
    """`<name attributes>children</name>`; `class_` is written `class`, `None` values are left
    out, and every attribute value and child is escaped unless it is Html."""
    rendered = "".join(
        f' {key.rstrip("_").replace("_", "-")}="{html.escape(str(value), quote=True)}"'
        for key, value in attributes.items()
        if value is not None
    )
    return Html(f"<{name}{rendered}>{join(children)}</{name}>")


def slug(prefix: str, name: str) -> str:
    """An id for an anchor: `prefix-` and the name with anything unusual replaced."""
    cleaned = "".join(c if c.isalnum() or c in "-_." else "_" for c in name)
    return f"{prefix}-{cleaned}"


# -- numbers and times ------------------------------------------------------------------------

DASH = "\u2013"  # an en dash: no value


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and not math.isfinite(value))


def number(value: Any, digits: int = 4) -> str:
    """Integers with thousands separators, floats to `digits` significant digits, a dash for
    None and NaN; other values as text."""
    if _missing(value):
        return DASH
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.{digits}g}"
    return str(value)


def shorten(text: object, width: int) -> str:
    """`text` as a string of at most `width` characters, cut with an ellipsis if longer: for
    labels and table cells that must stay narrow (chart axes, terminal tables)."""
    value = str(text)
    return value if len(value) <= width else value[: width - 1] + "\u2026"


def percent(value: float | None, digits: int = 1) -> str:
    return DASH if _missing(value) else f"{value:.{digits}%}"


def duration(seconds: float | None) -> str:
    """A length of time in the unit that reads best: s, min, h or d."""
    if _missing(seconds):
        return DASH
    assert seconds is not None
    for unit, size in (("d", 86_400.0), ("h", 3_600.0), ("min", 60.0)):
        if abs(seconds) >= 2 * size:
            return f"{seconds / size:,.1f} {unit}"
    return f"{seconds:,.0f} s"


def when(value: datetime | str | None) -> str:
    """A time as `YYYY-MM-DD HH:MM:SS UTC`."""
    if value is None:
        return DASH
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return f"{moment:%Y-%m-%d %H:%M:%S} UTC"


# -- blocks -----------------------------------------------------------------------------------


def paragraph(*children: object, class_: str | None = None) -> Html:
    return tag("p", *children, class_=class_)


def badge(text: str, tone: str) -> Html:
    """A coloured label; tone is good, warn, bad or muted."""
    return tag("span", text, class_=f"badge {tone}")


def score_badge(score: float | None) -> Html:
    """A quality score, green from 90, amber from 70, red below."""
    if _missing(score):
        return badge("no score", "muted")
    assert score is not None
    tone = "good" if score >= 90 else "warn" if score >= 70 else "bad"
    return badge(f"{score:.1f} / 100", tone)


def table(
    headers: Sequence[str],
    rows: Iterable[Sequence[object]],
    *,
    numeric: Iterable[str] = (),
    caption: object = None,
) -> Html:
    """A table; columns named in `numeric` are right-aligned with tabular digits."""
    right = {headers.index(name) for name in numeric}
    head = tag(
        "tr", *(tag("th", h, class_="num" if i in right else None) for i, h in enumerate(headers))
    )
    body = [
        tag("tr", *(tag("td", v, class_="num" if i in right else None) for i, v in enumerate(row)))
        for row in rows
    ]
    parts: list[object] = [tag("caption", caption)] if caption is not None else []
    parts += [tag("thead", head), tag("tbody", *body)]
    return tag("div", tag("table", *parts), class_="scroll")


def key_values(items: Iterable[tuple[str, object]]) -> Html:
    """A two-column table of labelled values."""
    rows = [tag("tr", tag("th", label), tag("td", value)) for label, value in items]
    return tag("table", tag("tbody", *rows), class_="kv")


def kpis(items: Iterable[tuple[str, object]]) -> Html:
    """Headline numbers, side by side."""
    cells = [
        tag(
            "div",
            tag("div", value, class_="kpi-value"),
            tag("div", label, class_="kpi-label"),
            class_="kpi",
        )
        for label, value in items
    ]
    return tag("div", *cells, class_="kpis")


def figure_block(data_uri: str, alt: str, caption: object = None) -> Html:
    """An inline PNG (a data: URI) with its alternative text and an optional caption."""
    parts: list[object] = [Html(f'<img src="{data_uri}" alt="{html.escape(alt, quote=True)}">')]
    if caption is not None:
        parts.append(tag("figcaption", caption))
    return tag("figure", *parts)


def details(summary: object, *children: object, open_: bool = False) -> Html:
    """A collapsible block (no script needed)."""
    return tag("details", tag("summary", summary), *children, open="" if open_ else None)


def section(anchor: str, title: object, *children: object, level: int = 2) -> Html:
    return tag("section", tag(f"h{level}", title), *children, id=anchor)


_CSS = """
*{box-sizing:border-box}
body{margin:0;background:#f3f5f8;color:#1d2733;font:14px/1.5 -apple-system,"Segoe UI",Roboto,
"Helvetica Neue",Arial,"DejaVu Sans",sans-serif}
header{background:#1d2b3a;color:#fff;padding:22px 32px 18px}
header h1{margin:0 0 4px;font-size:22px;font-weight:600}
header p{margin:0;color:#b8c4d2}
main{max-width:1280px;margin:0 auto;padding:8px 28px 40px}
section{background:#fff;border:1px solid #dde2e8;border-radius:10px;padding:14px 24px 18px;
margin:18px 0;box-shadow:0 1px 2px rgba(16,24,40,.04)}
section section{border:0;box-shadow:none;padding:0;margin:18px 0 0;border-top:1px solid #eef1f4;
border-radius:0;padding-top:10px}
h2{font-size:19px;margin:6px 0 10px}h3{font-size:15px;margin:8px 0 8px;color:#2d3b4b}
a{color:#2860a8;text-decoration:none}a:hover{text-decoration:underline}
.muted,.note{color:#6a7785}.note{font-size:13px;margin:6px 0}
.scroll{overflow-x:auto}
table{border-collapse:collapse;width:100%;font-size:13px;margin:6px 0 8px}
caption{text-align:left;color:#6a7785;padding:0 0 4px}
th,td{padding:5px 9px;border-bottom:1px solid #edf0f3;text-align:left;vertical-align:top}
thead th{background:#f6f8fa;border-bottom:1px solid #dde2e8;font-weight:600;white-space:nowrap}
tbody tr:nth-child(even){background:#fbfcfd}
.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
table.kv{width:auto}table.kv th{color:#6a7785;font-weight:500;white-space:nowrap;padding-right:24px}
.badge{display:inline-block;padding:1px 9px;border-radius:10px;font-size:12px;font-weight:600;
white-space:nowrap}
.good{background:#e1f3e8;color:#1b6e3d}.warn{background:#fdf0d5;color:#875400}
.bad{background:#fbe2df;color:#a3231a}.muted.badge{background:#eceff3;color:#55616e}
.kpis{display:flex;flex-wrap:wrap;gap:12px;margin:8px 0 12px}
.kpi{border:1px solid #e3e7ec;border-radius:8px;padding:8px 14px;min-width:140px;background:#fafbfc}
.kpi-value{font-size:17px;font-weight:600}.kpi-label{color:#6a7785;font-size:12px}
.plots{display:grid;grid-template-columns:repeat(auto-fill,minmax(360px,1fr));gap:10px 16px}
.series{display:grid;grid-template-columns:repeat(auto-fill,minmax(560px,1fr));gap:10px 16px}
figure{margin:0}figure img{max-width:100%;height:auto;display:block}
figcaption{color:#6a7785;font-size:12px;margin-top:2px}
details{margin:8px 0}summary{cursor:pointer;color:#2860a8}
nav ul{margin:4px 0;padding-left:18px}code{background:#f1f3f6;padding:0 4px;border-radius:4px}
footer{max-width:1280px;margin:0 auto;padding:0 28px 28px;color:#8a96a3;font-size:12px}
"""

# No script and nothing fetched: images are data: URIs, styles inline.
_POLICY = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"


def page(title: str, subtitle: object, body: object, generated_at: datetime | None = None) -> str:
    """A complete, self-contained HTML document."""
    from cinefeat import __version__

    stamp = when(generated_at or datetime.now(UTC))
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{_POLICY}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"{tag('title', title)}<style>{_CSS}</style></head><body>"
        f"{tag('header', tag('h1', title), tag('p', subtitle))}"
        f"{tag('main', body)}"
        f"{tag('footer', f'Generated by cinefeat {__version__} at {stamp}.')}"
        "</body></html>\n"
    )
