"""The report's charts as SVG drawn by the app: no script, nothing fetched.

`share_bars` draws each commune's share paid through an account as a horizontal bar, largest
first, with the target as a vertical line; `trend_line` draws the unit's share month by month with
the target as a horizontal line and its due date marked. Both are pure functions of what they are
given (numbers already rounded, words already translated) and return markup whose every text is
escaped. `report_charts` builds both from a Report in the reader's language.

The page shows each as an <img> whose source is the SVG itself (a data: URL, which the
Content-Security-Policy allows for images): drawn with the page, no second request, and an SVG
shown as an image never runs anything (pages carry no <svg> element: tests/test_xss.py). Colours are
SVG attributes, not CSS; each chart has a title and a description inside and the same words as its
alt text, and its numbers are also in the report's table.
"""
from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from flask_babel import gettext as _
from markupsafe import Markup, escape

from cases.changes import day_text, month_text
from cases.reports.figures import Report
from cases.reports.periods import Period
from views.present.formats import share_percent as percent

_INK, _MUTED, _GRID, _BRAND = "#1d2733", "#5b6b7c", "#d6dde5", "#0b5cab"
_MET, _BEHIND, _TARGET = "#1e7b34", "#a4161a", "#8a4b00"
_FONT = 'font-family="system-ui, Segoe UI, Roboto, Arial, sans-serif"'
_NAME_CHARS = 28


@dataclass(frozen=True)
class Bar:
    label: str
    share: Decimal | None          # None: nobody receiving
    met: bool | None               # colours the bar: met (green), behind (red), no target (blue)
    note: str = ""                 # said in the bar's title after its share ("chưa đạt mục tiêu")


@dataclass(frozen=True)
class BarsText:
    title: str
    description: str
    target: str                    # the label of the target line, "Mục tiêu 60,0%"
    nobody: str                    # a row with nobody to divide by


def share_bars(bars: Sequence[Bar], target: Decimal | None, text: BarsText, chart_id: str = "share-bars",
               fmt: Callable = percent) -> Markup:
    """Horizontal bars, sorted by share descending (rows with no share last), 0–100 %."""
    ordered = sorted(bars, key=lambda b: (b.share is None, -(b.share or 0)))
    left, width, row, top = 200, 440, 22, 34
    height = top + row * max(len(ordered), 1) + 34
    scale = width / 100
    out = [_open(chart_id, left + width + 80, height, text.title, text.description)]
    for tick in (0, 25, 50, 75, 100):
        x = left + tick * scale
        out.append(f'<line x1="{x:.1f}" y1="{top - 4}" x2="{x:.1f}" y2="{height - 28}" stroke="{_GRID}"/>')
        out.append(f'<text x="{x:.1f}" y="{height - 12}" font-size="11" fill="{_MUTED}" text-anchor="middle">'
                   f'{escape(fmt(tick))}</text>')
    for n, bar in enumerate(ordered):
        y = top + n * row
        out.append(f'<g class="bar" data-label="{escape(bar.label)}">')
        said = f"{bar.label}: {fmt(bar.share) if bar.share is not None else text.nobody}"
        out.append(f'<title>{escape(said + (" — " + bar.note if bar.note else ""))}</title>')
        out.append(f'<text x="{left - 6}" y="{y + 15}" font-size="12" fill="{_INK}" text-anchor="end">'
                   f'{escape(_short(bar.label))}</text>')
        if bar.share is None:
            out.append(f'<text x="{left + 4}" y="{y + 15}" font-size="11" fill="{_MUTED}">{escape(text.nobody)}</text>')
        else:
            w = float(bar.share) * scale
            colour = _BRAND if bar.met is None else (_MET if bar.met else _BEHIND)
            out.append(f'<rect x="{left}" y="{y + 3}" width="{w:.1f}" height="{row - 6}" fill="{colour}"/>')
            out.append(f'<text x="{left + w + 4:.1f}" y="{y + 15}" font-size="11" fill="{_INK}">'
                       f'{escape(fmt(bar.share))}</text>')
        out.append("</g>")
    if target is not None:
        x = left + float(target) * scale
        out.append(f'<g class="target"><line x1="{x:.1f}" y1="{top - 8}" x2="{x:.1f}" y2="{height - 28}" '
                   f'stroke="{_TARGET}" stroke-width="2" stroke-dasharray="6 3"/>')
        out.append(f'<text x="{x:.1f}" y="{top - 14}" font-size="12" font-weight="700" fill="{_TARGET}" '
                   f'text-anchor="middle">{escape(text.target)}</text></g>')
    out.append("</svg>")
    return Markup("\n".join(out))


@dataclass(frozen=True)
class TrendText:
    title: str
    description: str
    target: str                    # "Mục tiêu 60,0%"
    due: str                       # "Hạn 31/12/2026"
    month: Callable[[date], str]   # the x axis' labels


def trend_line(points: Sequence[tuple[date, Decimal | None]], target: Decimal | None, due_on: date | None,
               text: TrendText, chart_id: str = "trend", fmt: Callable = percent) -> Markup:
    """The share month by month as a line (broken where nobody was receiving), 0–100 %, with the
    target as a horizontal line and its due month as a vertical one (an arrow at the edge when it
    falls after the last month shown, or before the first)."""
    left, width, top, plot = 56, 600, 34, 200
    right_room, bottom = 110, 44
    step = width / max(len(points) - 1, 1)
    out = [_open(chart_id, left + width + right_room, top + plot + bottom, text.title, text.description)]

    def y_of(share) -> float:
        return top + plot - float(share) * plot / 100

    for tick in (0, 25, 50, 75, 100):
        y = y_of(tick)
        out.append(f'<line x1="{left}" y1="{y:.1f}" x2="{left + width}" y2="{y:.1f}" stroke="{_GRID}"/>')
        out.append(f'<text x="{left - 6}" y="{y + 4:.1f}" font-size="11" fill="{_MUTED}" text-anchor="end">'
                   f'{escape(fmt(tick))}</text>')
    for n, (month, _share) in enumerate(points):
        x = left + n * step
        out.append(f'<text x="{x:.1f}" y="{top + plot + 18}" font-size="10" fill="{_MUTED}" text-anchor="middle">'
                   f'{escape(text.month(month))}</text>')
    if target is not None:
        y = y_of(target)
        out.append(f'<g class="target"><line x1="{left}" y1="{y:.1f}" x2="{left + width}" y2="{y:.1f}" '
                   f'stroke="{_TARGET}" stroke-width="2" stroke-dasharray="6 3"/>')
        out.append(f'<text x="{left + width + 6}" y="{y + 4:.1f}" font-size="12" font-weight="700" '
                   f'fill="{_TARGET}">{escape(text.target)}</text></g>')
    if due_on is not None and points:
        out.append(_due_mark(points, due_on, text.due, left, width, step, top, plot))
    for segment in _segments(points):
        coords = " ".join(f"{left + n * step:.1f},{y_of(share):.1f}" for n, share in segment)
        out.append(f'<polyline class="line" points="{coords}" fill="none" stroke="{_BRAND}" stroke-width="2.5"/>')
    for n, (month, share) in enumerate(points):
        if share is not None:
            out.append(f'<circle class="point" cx="{left + n * step:.1f}" cy="{y_of(share):.1f}" r="3.5" '
                       f'fill="{_BRAND}"><title>{escape(text.month(month))}: {escape(fmt(share))}</title></circle>')
    out.append("</svg>")
    return Markup("\n".join(out))


def _due_mark(points, due_on: date, label: str, left, width, step, top, plot) -> str:
    first, last = points[0][0], points[-1][0]
    due_month = due_on.replace(day=1)
    bottom = top + plot
    if due_month > last or due_month < first:
        after = due_month > last
        x = left + width if after else left
        arrow = f"{label} →" if after else f"← {label}"
        anchor = "end" if after else "start"
        return (f'<g class="due" data-outside="true"><text x="{x}" y="{top - 12}" font-size="12" font-weight="700" '
                f'fill="{_TARGET}" text-anchor="{anchor}">{escape(arrow)}</text></g>')
    n = (due_month.year - first.year) * 12 + due_month.month - first.month
    x = left + n * step
    return (f'<g class="due"><line x1="{x:.1f}" y1="{top - 6}" x2="{x:.1f}" y2="{bottom}" stroke="{_TARGET}" '
            f'stroke-width="1.5" stroke-dasharray="2 3"/><text x="{x:.1f}" y="{top - 12}" font-size="12" '
            f'font-weight="700" fill="{_TARGET}" text-anchor="middle">{escape(label)}</text></g>')


def _segments(points) -> list[list[tuple[int, Decimal]]]:
    """Runs of consecutive months with a share (a month with nobody receiving breaks the line)."""
    runs: list[list[tuple[int, Decimal]]] = [[]]
    for n, (_month, share) in enumerate(points):
        if share is None:
            runs.append([])
        else:
            runs[-1].append((n, share))
    return [run for run in runs if run]


def _open(chart_id: str, width: int, height: int, title: str, description: str) -> str:
    cid = escape(chart_id)
    return (f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="{cid}" viewBox="0 0 {width} {height}" '
            f'width="{width}" height="{height}" role="img" aria-labelledby="{cid}-title {cid}-desc" {_FONT}>'
            f'<title id="{cid}-title">{escape(title)}</title><desc id="{cid}-desc">{escape(description)}</desc>')


def _short(name: str) -> str:
    return name if len(name) <= _NAME_CHARS else name[:_NAME_CHARS - 1] + "…"


# --- the report's two charts, in the reader's language --------------------------------------------

def as_image(svg: str, alt: str, chart_id: str) -> Markup:
    """The SVG as an <img> with its own source inline (a data: URL) and `alt` as its words."""
    source = base64.b64encode(str(svg).encode("utf-8")).decode("ascii")
    return Markup(f'<img class="chart" id="{escape(chart_id)}" src="data:image/svg+xml;base64,{source}" '
                  f'alt="{escape(alt)}">')


def svg_of(image: str) -> str:
    """The SVG inside an image `as_image` made (for tests and checks)."""
    source = str(image).split("base64,", 1)[1].split('"', 1)[0]
    return base64.b64decode(source).decode("utf-8")


def report_charts(report: Report) -> tuple[Markup, Markup]:
    """(each commune's share against the target, the unit's month-by-month trend), as images."""
    target = report.total.target
    target_label = _("Mục tiêu %(share)s", share=percent(target.share)) if target else ""
    bars = [Bar(row.name, row.counts(row.judged_group).share, row.met, _met_words(row)) for row in report.rows]
    behind = sum(1 for row in report.rows if row.met is False)
    bars_text = BarsText(
        title=_("Tỷ lệ chi trả qua tài khoản của từng xã/phường, %(unit)s, %(period)s",
                unit=report.unit_name, period=_period_label(report)),
        description=_("%(count)s xã/phường, sắp xếp từ cao xuống thấp; %(behind)s xã/phường chưa đạt mục tiêu. "
                      "Số liệu chi tiết ở bảng bên dưới.", count=len(report.rows), behind=behind),
        target=target_label, nobody=_("không có đối tượng"))
    trend_text = TrendText(
        title=_("Tỷ lệ chi trả qua tài khoản theo tháng, %(unit)s", unit=report.unit_name),
        description=_trend_words(report), target=target_label,
        due=_("Hạn %(day)s", day=day_text(target.due_on)) if target else "", month=month_text)
    bars_svg = share_bars(bars, target.share if target else None, bars_text)
    trend_svg = trend_line([(p.month, p.share) for p in report.trend], target.share if target else None,
                           target.due_on if target else None, trend_text)
    return (as_image(bars_svg, f"{bars_text.title}. {bars_text.description}", "share-bars-image"),
            as_image(trend_svg, f"{trend_text.title}. {trend_text.description}", "trend-image"))


def _met_words(row) -> str:
    if row.met is None:
        return ""
    return _("đạt mục tiêu") if row.met else _("chưa đạt mục tiêu")


def _trend_words(report: Report) -> str:
    shown = [f"{month_text(p.month)}: {percent(p.share)}" for p in report.trend]
    return _("Tỷ lệ theo từng tháng: %(months)s.", months="; ".join(shown))


def _period_label(report: Report) -> str:
    return Period.parse(report.period).label
