"""The chart of a campaign (K-10, K-12): per variant, planned and actual cost beside
the revenue and margin they brought, as a PNG for the campaign card and the bot. Drawing
is CPU work: call :func:`campaign_chart_png` in a thread (``asyncio.to_thread``); it
takes only plain values (no database, no translation). One currency: the campaign's."""

from __future__ import annotations

from services.analytics import _short, bar_figure, plain_axes, png_bytes

MAX_VARIANTS = 20
COLOURS = ("#b9c3d3", "#e08a2c", "#2f6fdb", "#27a36a")  # planned, actual, revenue, margin


def _amount(v: float) -> str:
    return f"{v:,.0f}".replace(",", " ")


def campaign_chart_png(points: list[tuple[str, float, float, float, float]], title: str, *,
                       labels: tuple[str, str, str, str], empty_text: str = "—") -> bytes:
    """Four horizontal bars per variant — planned cost, actual cost, revenue, margin —
    the figure at the end of each bar; PNG 800 px wide."""
    points = points[:MAX_VARIANTS]
    height = 1.8 + 1.3 * max(len(points), 1)
    fig, ax = bar_figure(title, height, empty_text if not points else None)
    if points:
        ys = list(range(len(points)))
        step = 0.2
        for k in range(4):
            values = [p[k + 1] for p in points]
            offs = [y + (k - 1.5) * step for y in ys]
            ax.barh(offs, values, height=step * 0.95, color=COLOURS[k], label=labels[k])
            for y, v in zip(offs, values, strict=True):
                ax.text(max(v, 0), y, f" {_amount(v)}", va="center", ha="left", fontsize=9)
        ax.set_yticks(ys, [_short(p[0]) for p in points], fontsize=12)
        ax.invert_yaxis()
        every = [v for p in points for v in p[1:]]
        ax.set_xlim(min(0.0, *every) * 1.1, max(max(every), 1.0) * 1.3)
        ax.tick_params(axis="x", labelsize=10)
        ax.xaxis.set_major_formatter(lambda v, _pos: _amount(v))
        plain_axes(ax)
        fig.legend(loc="outside lower center", ncols=2, fontsize=11, frameon=False)
    return png_bytes(fig)
