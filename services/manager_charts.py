"""Charts of the manager report (S-27): revenue and margin per person as a PNG for the
reports page and the bot's /stats. Drawing is CPU work: call :func:`sales_chart_png` in
a thread (``run_in_executor`` / ``asyncio.to_thread``); it takes only plain values, so
no database or translation is touched there.

One currency per chart (sums are never converted): the one asked for, else the one with
the most revenue among the rows (:func:`chart_currency`).
"""

from __future__ import annotations

from decimal import Decimal

from services.analytics import _short, bar_figure, plain_axes, png_bytes
from services.manager_report import ManagerRow

MAX_PEOPLE = 40
REVENUE_COLOUR = "#2f6fdb"
MARGIN_COLOUR = "#27a36a"


def chart_currency(rows: list[ManagerRow], default: str = "RUB") -> str:
    totals: dict[str, Decimal] = {}
    for r in rows:
        for c, v in r.revenue.items():
            totals[c] = totals.get(c, Decimal(0)) + v
    return max(totals, key=lambda c: (totals[c], c)) if totals else default


def chart_points(rows: list[ManagerRow], currency: str) -> list[tuple[str, float, float]]:
    """(name, revenue, margin) of the people with a sale in ``currency``, the largest
    revenue on top; at most :data:`MAX_PEOPLE`."""
    points = [(r.full_name, float(r.revenue.get(currency, 0)), float(r.margin.get(currency, 0)))
              for r in rows if currency in r.revenue]
    points.sort(key=lambda p: (-p[1], p[0].casefold()))
    return points[:MAX_PEOPLE]


def _amount(v: float) -> str:
    return f"{v:,.0f}".replace(",", " ")


def sales_chart_png(points: list[tuple[str, float, float]], title: str, *,
                    revenue_label: str, margin_label: str, empty_text: str = "—") -> bytes:
    """Grouped horizontal bars, revenue and margin, a pair per person, the figure at the
    end of each bar; PNG 800 px wide for a phone screen. matplotlib's object API on the
    Agg canvas (no pyplot: nothing global, safe in threads)."""
    height = 1.6 + 0.75 * max(len(points), 1)
    fig, ax = bar_figure(title, height, empty_text if not points else None)
    if points:
        ys = list(range(len(points)))
        revenue = [p[1] for p in points]
        margin = [p[2] for p in points]
        ax.barh([y - 0.2 for y in ys], revenue, height=0.38, color=REVENUE_COLOUR,
                label=revenue_label)
        ax.barh([y + 0.2 for y in ys], margin, height=0.38, color=MARGIN_COLOUR,
                label=margin_label)
        for y, r, m in zip(ys, revenue, margin, strict=True):
            ax.text(max(r, 0), y - 0.2, f" {_amount(r)}", va="center", ha="left", fontsize=10)
            ax.text(max(m, 0), y + 0.2, f" {_amount(m)}", va="center", ha="left", fontsize=10)
        ax.set_yticks(ys, [_short(p[0]) for p in points], fontsize=12)
        ax.invert_yaxis()
        low = min(0.0, *margin)
        ax.set_xlim(low * 1.1, max(max(revenue), max(margin), 1.0) * 1.25)
        ax.tick_params(axis="x", labelsize=10)
        ax.xaxis.set_major_formatter(lambda v, _pos: _amount(v))
        plain_axes(ax)
        fig.legend(loc="outside lower center", ncols=2, fontsize=11, frameon=False)
    return png_bytes(fig)
