"""Chart geometry for pages drawn as SVG on the server: bars and lines scaled into a box.

No chart library runs in the browser: templates draw these shapes, and each chart's numbers
are also given as text (its title, description and a table).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

WIDTH = 600
HEIGHT = 160
# Room under and left of the plot for the axis labels.
BOTTOM = 20
LEFT = 40


@dataclass(frozen=True)
class Bar:
    """One bar: its box in the SVG's coordinates, its value and its label."""

    x: float
    y: float
    width: float
    height: float
    value: int
    label: str


@dataclass(frozen=True)
class Chart:
    """A chart's shapes: bars (or a line through `points`), the top of its scale."""

    bars: list[Bar]
    points: str
    top: int
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    bottom: int = BOTTOM


def nice_top(largest: int) -> int:
    """The scale's top: the smallest 1, 2 or 5 times a power of ten at least `largest`."""
    top = 1
    while True:
        for step in (1, 2, 5):
            if top * step >= largest:
                return top * step
        top *= 10


def _plot_height() -> float:
    return HEIGHT - BOTTOM - 4


def bar_chart(values: Sequence[tuple[str, int]]) -> Chart:
    """Vertical bars, one per (label, value), left to right."""
    top = nice_top(max((v for _, v in values), default=0))
    slot = (WIDTH - LEFT) / max(len(values), 1)
    gap = min(2.0, slot / 4)
    bars = []
    for i, (label, value) in enumerate(values):
        height = _plot_height() * value / top
        bars.append(
            Bar(
                round(LEFT + i * slot + gap / 2, 2),
                round(HEIGHT - BOTTOM - height, 2),
                round(slot - gap, 2),
                round(height, 2),
                value,
                label,
            )
        )
    return Chart(bars, "", top)


def line_chart(values: Sequence[tuple[float, int]], first: float, last: float) -> Chart:
    """A line through (x, value) points, x scaled from `first` to `last`."""
    top = nice_top(max((v for _, v in values), default=0))
    span = max(last - first, 1)
    points = " ".join(
        f"{LEFT + (WIDTH - LEFT) * (x - first) / span:.1f},"
        f"{HEIGHT - BOTTOM - _plot_height() * v / top:.1f}"
        for x, v in values
    )
    return Chart([], points, top)


def human_bytes(size: int) -> str:
    """A size as people read it: 1.5 MB, 12 kB, 0 bytes (powers of 1000)."""
    value = float(size)
    for unit in ("bytes", "kB", "MB", "GB", "TB"):
        if value < 1000 or unit == "TB":
            return f"{int(value)} {unit}" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1000
    raise AssertionError("unreachable")
