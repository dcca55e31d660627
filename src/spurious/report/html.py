"""One self-contained, offline HTML report from structured sections.

The file has inline CSS, images as base64 ``data:`` URIs, no scripts and no external resources, so
it opens anywhere (and survives being mailed or archived). The page is ``templates/report.html``, rendered by
Jinja2 with autoescape, so all text is HTML-escaped.

    from spurious.report import build_report, Section, Table, Image, Verdict, KeyValues
    build_report("Organism demo", [
        Section("Verdicts", [Verdict("Clipping raises pi_bar", "supported", "+0.08 ± 0.02 (5 seeds)")]),
        Section("Curves", ["Raw dashed, smoothed solid.", Image("pi_bar.png", caption="π̄ per step")]),
        Section("Table 1", [Table([{"model": "tiny", "code %": 65.0}], caption="Before RL")]),
        Section("Provenance", [KeyValues(provenance())]),
    ], "out/report.html")

Blocks may also be given bare: a ``str`` is a paragraph, a ``pathlib.Path`` or matplotlib figure
an image, a list of dicts a table, a dict a key-value block.
"""

from __future__ import annotations

import base64
import datetime as _dt
import io
import json
import math
import os
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import jinja2
import markupsafe

from spurious.io import atomic_open

VERDICTS = {
    "supported": ("#1b6e34", "#e2f3e7"),
    "not supported": ("#9b1c1c", "#fbe3e3"),
    "inconclusive": ("#8a5a00", "#fff3d6"),
}
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


# ----------------------------------------------------------------- blocks

@dataclass
class Heading:
    text: str
    level: int = 3


@dataclass
class Paragraph:
    text: str


@dataclass
class KeyValues:
    """A key-value block (provenance, config). Nested values are shown as indented JSON."""

    items: dict[str, Any]
    title: str | None = None


@dataclass
class Table:
    """Rows (dicts) as a table. ``columns`` picks and orders columns (default: union in first-seen order).

    ``formats`` maps a column to a format string (``"{:.1f}"``) or a callable; otherwise columns of
    percentages or percentage points (name ending in ``%``, ``%)`` or ``pts``) get one decimal and other
    numbers :func:`format_value`.
    """

    rows: Sequence[dict[str, Any]]
    caption: str | None = None
    columns: Sequence[str] | None = None
    formats: dict[str, str | Callable[[Any], str]] = field(default_factory=dict)


@dataclass
class Image:
    """A PNG: a file path, PNG bytes, or a matplotlib figure (rendered at ``dpi``)."""

    source: Any
    caption: str | None = None
    alt: str | None = None
    dpi: int = 100


@dataclass
class Verdict:
    """A claim checked against evidence. ``verdict``: supported / not supported / inconclusive."""

    claim: str
    verdict: str
    evidence: str | dict[str, Any] = ""

    def __post_init__(self):
        v = self.verdict.strip().lower().replace("_", " ").replace("-", " ")
        if v not in VERDICTS:
            raise ValueError(f"verdict must be one of {sorted(VERDICTS)}, got {self.verdict!r}")
        self.verdict = v


@dataclass
class Section:
    title: str
    blocks: list[Any] = field(default_factory=list)


# ----------------------------------------------------------------- formatting

def format_value(v: Any) -> str:
    """Human form of a cell: None → —, nan → n/a, bools yes/no, whole floats without decimals, else 4 digits."""
    if v is None:
        return "—"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, int):
        return f"{v:,}" if abs(v) >= 10_000 else str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "n/a"
        if math.isinf(v):
            return "∞" if v > 0 else "−∞"
        if v == int(v) and abs(v) < 1e15:
            return str(int(v))
        if abs(v) >= 1e5 or abs(v) < 1e-3:
            return f"{v:.3e}"
        return f"{v:.4g}"
    if isinstance(v, (dict, list, tuple)):
        return json.dumps(v, ensure_ascii=False, default=str)
    return str(v)


PERCENT_SUFFIXES = ("%", "%)", "pts")


def _is_num(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _cell(col: str, v: Any, formats: dict) -> str:
    fmt = formats.get(col)
    if fmt is not None and v is not None and not (isinstance(v, float) and math.isnan(v)):
        text = fmt(v) if callable(fmt) else fmt.format(v)
    elif col.endswith(PERCENT_SUFFIXES) and isinstance(v, float) and math.isfinite(v):
        text = f"{v + 0.0:.1f}".replace("-0.0", "0.0") if abs(v) < 0.05 else f"{v:.1f}"
    else:
        text = format_value(v)
    return text


def _png_bytes(source: Any, dpi: int) -> bytes:
    if isinstance(source, (bytes, bytearray)):
        data = bytes(source)
    elif isinstance(source, (str, os.PathLike)):
        p = Path(source)
        if not p.exists():
            raise FileNotFoundError(f"{p}: image not found")
        data = p.read_bytes()
    elif hasattr(source, "savefig"):
        buf = io.BytesIO()
        source.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
        data = buf.getvalue()
    else:
        raise TypeError(f"cannot embed an image from {type(source).__name__}")
    if not data.startswith(PNG_MAGIC):
        raise ValueError(f"{source if isinstance(source, (str, os.PathLike)) else 'image'}: not a PNG")
    return data


# ----------------------------------------------------------------- checking

_URL_ATTRS = {"src", "href", "srcset", "action", "poster", "data", "formaction", "background"}
_CSS_URL = re.compile(r"""url\(\s*['"]?([^'")\s]+)|@import\s+(?:url\(\s*)?['"]?([^'")\s;]+)""", re.I)


def _is_external(url: str) -> bool:
    u = url.strip().lower()
    return u.startswith(("http:", "https:", "//", "ftp:", "ws:", "wss:"))


class _RefCollector(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.refs: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag, attrs):
        self._in_style = tag == "style"
        for name, value in attrs:
            if value is None:
                continue
            if name in _URL_ATTRS:
                self.refs += [v.split()[0] for v in value.split(",") if v.strip() and _is_external(v)]
            elif name == "style":
                self._css(value)

    def handle_endtag(self, tag):
        if tag == "style":
            self._in_style = False

    def handle_data(self, data):
        if self._in_style:
            self._css(data)

    def _css(self, css: str):
        for m in _CSS_URL.finditer(css):
            url = m.group(1) or m.group(2)
            if _is_external(url):
                self.refs.append(url)


def external_references(html_text: str) -> list[str]:
    """URLs the page would fetch from elsewhere (attributes, inline CSS url()/@import); [] if self-contained.

    Text that merely mentions a URL (escaped, e.g. in provenance) is not a reference.
    """
    parser = _RefCollector()
    parser.feed(html_text)
    parser.close()
    return parser.refs


# ----------------------------------------------------------------- rendering

def _coerce(block: Any) -> Any:
    if isinstance(block, (Heading, Paragraph, KeyValues, Table, Image, Verdict)):
        return block
    if isinstance(block, str):
        return Paragraph(block)
    if isinstance(block, os.PathLike) or hasattr(block, "savefig"):
        return Image(block)
    if isinstance(block, dict):
        return KeyValues(block)
    if isinstance(block, (list, tuple)) and all(isinstance(r, dict) for r in block):
        return Table(block)
    raise TypeError(f"unsupported report block: {type(block).__name__}")


def _table_view(t: Table) -> dict[str, Any]:
    cols = list(t.columns) if t.columns else list(dict.fromkeys(k for r in t.rows for k in r))
    rows = [[{"text": _cell(c, r.get(c), t.formats), "num": _is_num(r.get(c))} for c in cols] for r in t.rows]
    return {"kind": "table", "caption": t.caption, "columns": [str(c) for c in cols], "rows": rows}


def _key_values_view(kv: KeyValues) -> dict[str, Any]:
    items = []
    for k, v in kv.items.items():
        if isinstance(v, (list, tuple)) and not any(isinstance(x, (dict, list, tuple)) for x in v):
            item = {"value": json.dumps(v, ensure_ascii=False, default=str), "pre": False}  # a flat list: one line
        elif isinstance(v, (dict, list, tuple)):
            item = {"value": json.dumps(v, indent=2, ensure_ascii=False, default=str), "pre": True}
        else:
            item = {"value": format_value(v), "pre": False}
        items.append({"key": str(k), **item})
    return {"kind": "key_values", "title": kv.title, "entries": items}


def _image_view(img: Image) -> dict[str, Any]:
    data = base64.b64encode(_png_bytes(img.source, img.dpi)).decode("ascii")
    return {"kind": "image", "data": data, "alt": img.alt or img.caption or "figure", "caption": img.caption}


def _verdicts_view(rows: list[Verdict]) -> dict[str, Any]:
    out = []
    for v in rows:
        fg, bg = VERDICTS[v.verdict]
        ev = ("; ".join(f"{k} = {format_value(x)}" for k, x in v.evidence.items())
              if isinstance(v.evidence, dict) else str(v.evidence))
        out.append({"claim": v.claim, "verdict": v.verdict, "fg": fg, "bg": bg, "evidence": ev})
    return {"kind": "verdicts", "rows": out}


def _block_views(blocks: Iterable[Any]) -> list[dict[str, Any]]:
    """What the template draws for ``blocks``; consecutive verdicts share one table."""
    views: list[dict[str, Any]] = []
    pending: list[Verdict] = []
    for raw in blocks:
        b = _coerce(raw)
        if isinstance(b, Verdict):
            pending.append(b)
            continue
        if pending:
            views.append(_verdicts_view(pending))
            pending = []
        if isinstance(b, Heading):
            views.append({"kind": "heading", "level": min(max(b.level, 3), 6), "text": b.text})
        elif isinstance(b, Paragraph):
            views.append({"kind": "paragraph", "text": b.text})
        elif isinstance(b, KeyValues):
            views.append(_key_values_view(b))
        elif isinstance(b, Table):
            views.append(_table_view(b))
        elif isinstance(b, Image):
            views.append(_image_view(b))
    if pending:
        views.append(_verdicts_view(pending))
    return views


# autoescape: every value is escaped as HTML text; StrictUndefined: a misspelt field fails instead of vanishing
_TEMPLATES = jinja2.Environment(loader=jinja2.PackageLoader("spurious.report", "templates"), autoescape=True,
                                undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                                keep_trailing_newline=True)


CSS = """
body{font:15px/1.5 -apple-system,"Segoe UI",Helvetica,Arial,sans-serif;color:#1d232a;max-width:1180px;
margin:0 auto;padding:24px 28px 60px;background:#fff}
h1{font-size:26px;margin:0 0 4px}h2{font-size:20px;border-bottom:2px solid #e4e7eb;padding-bottom:4px;margin-top:36px}
h3{font-size:16px;margin-top:22px}h4{margin:8px 0}.sub{color:#5b6570;margin:0 0 14px}
nav{background:#f6f8fa;border:1px solid #e4e7eb;border-radius:6px;padding:8px 14px;margin:14px 0}
nav a{display:inline-block;color:#1f5fa8;text-decoration:none;margin-right:16px;white-space:nowrap}
.tbl{overflow-x:auto;margin:12px 0}table{border-collapse:collapse;font-size:13.5px}
caption{caption-side:top;text-align:left;font-weight:600;padding:4px 0;color:#333}
th,td{border:1px solid #d9dee3;padding:4px 9px;vertical-align:top}th{background:#f1f4f7;text-align:left}
td.num{text-align:right;font-variant-numeric:tabular-nums}td.empty{color:#888;font-style:italic}
tbody tr:nth-child(even){background:#fafbfc}
.verdict{display:inline-block;padding:1px 9px;border:1px solid;border-radius:10px;font-weight:600;white-space:nowrap}
figure{margin:14px 0}figure img{max-width:100%;border:1px solid #e4e7eb}
figcaption{font-size:13px;color:#5b6570;margin-top:4px}
.kv dl{display:grid;grid-template-columns:max-content 1fr;gap:2px 14px;font-size:13px;margin:6px 0}
.kv dt{font-weight:600;color:#444}.kv dd{margin:0;word-break:break-word}
pre{margin:0;font-size:12px;background:#f6f8fa;padding:6px;border-radius:4px;white-space:pre-wrap}
footer{margin-top:40px;color:#8a939c;font-size:12px}
"""


def render_report(title: str, sections: Sequence[Section | tuple[str, list]], subtitle: str | None = None,
                   provenance: dict[str, Any] | None = None) -> str:
    """The report as an HTML string (see :func:`build_report`), from ``templates/report.html``."""
    secs = [s if isinstance(s, Section) else Section(*s) for s in sections]
    if provenance is not None:
        secs.append(Section("Provenance", [KeyValues(provenance)]))
    stamp = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    return _TEMPLATES.get_template("report.html").render(
        title=title, subtitle=subtitle, css=markupsafe.Markup(CSS), stamp=stamp,
        sections=[{"title": s.title, "blocks": _block_views(s.blocks)} for s in secs])


def build_report(title: str, sections: Sequence[Section | tuple[str, list]], out_path: str | os.PathLike, *,
                 subtitle: str | None = None, provenance: dict[str, Any] | None = None) -> Path:
    """Write one self-contained HTML report and return its path.

    ``sections``: :class:`Section` objects (or ``(title, blocks)`` tuples) whose blocks are
    :class:`Heading`, :class:`Paragraph`, :class:`KeyValues`, :class:`Table`, :class:`Image`,
    :class:`Verdict` or the bare shorthands listed in the module docstring. ``provenance``, if
    given, is appended as a final "Provenance" section. The file is written atomically.
    """
    text = render_report(title, sections, subtitle=subtitle, provenance=provenance)
    out = Path(out_path)
    with atomic_open(out) as fh:
        fh.write(text)
    return out
