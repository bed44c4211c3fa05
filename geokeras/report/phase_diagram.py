"""The phase diagram of a two-key sweep: one metric over the grid of the two swept values.

A categorical metric (a verdict such as ``encoded`` / ``not_encoded`` /
``provably_not_encodable``, a boolean, or ``failed`` for a point that did not finish) is drawn
as coloured classes in the Okabe-Ito palette with a legend; a numeric metric as a ``viridis``
heat map with a colour bar, failed or missing points in grey. Every cell carries its value as
text, so the figure reads without the colour. Same conventions as
:mod:`geokeras.report.figures` (explicit Agg canvas, matplotlib imported lazily).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from geokeras.report.figures import (
    CONTINUOUS_COLORMAP,
    OKABE_ITO,
    PathLike,
    new_figure,
    save_figure,
)

_MISSING_GREY = "#BBBBBB"
VERDICT_COLOURS = {
    "encoded": OKABE_ITO[2],
    "not_encoded": OKABE_ITO[1],
    "provably_not_encodable": OKABE_ITO[0],
    "undecided": OKABE_ITO[3],
}
"""The learnability verdicts keep one colour in every figure (green, vermillion, blue, orange)."""


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _label(value: Any) -> str:
    if _is_number(value):
        return f"{value:.3g}"
    return "-" if value is None else str(value)


def _cell_text(label: str) -> str:
    """A long snake_case label broken at its underscores so that it fits in its cell."""
    return label.replace("_", "\n") if len(label) > 11 else label


def class_palette(classes: Sequence[str]) -> dict[str, str]:
    """Colours of the categorical classes: fixed ones for the verdicts, grey for failed or
    missing points, the remaining Okabe-Ito colours in order of appearance for anything else."""
    spare = iter([colour for colour in OKABE_ITO if colour not in VERDICT_COLOURS.values()] * (len(classes) + 1))
    return {
        name: VERDICT_COLOURS.get(name) or (_MISSING_GREY if name in ("failed", "-") else next(spare))
        for name in classes
    }


def plot_phase_diagram(
    cells: Sequence[tuple[str, str, Any]], keys: Sequence[str], metric: str, path: PathLike, dpi: int = 110
) -> Path:
    """Draw ``metric`` over the grid of two swept keys.

    Args:
        cells: ``(value of keys[0], value of keys[1], metric value)`` per grid point; the
            axes keep the order in which each value first appears.
        keys: the two swept keys (x axis, y axis).
        metric: the metric's name, for the title and colour bar.
        path: the PNG to write.

    Returns:
        ``path``.
    """
    if len(keys) != 2:
        raise ValueError(f"Expected exactly two swept keys. Received: keys={list(keys)}.")
    if not cells:
        raise ValueError("Expected at least one grid point. Received: cells=[].")
    x_values = list(dict.fromkeys(cell[0] for cell in cells))
    y_values = list(dict.fromkeys(cell[1] for cell in cells))
    grid: dict[tuple[int, int], Any] = {(x_values.index(x), y_values.index(y)): value for x, y, value in cells}
    values = list(grid.values())
    numeric = any(map(_is_number, values)) and all(_is_number(value) or value in (None, "failed") for value in values)

    figure = new_figure((1.6 + 1.1 * len(x_values), 1.4 + 0.7 * len(y_values)))
    axes = figure.add_subplot(1, 1, 1)
    if numeric:
        image = np.full((len(y_values), len(x_values)), np.nan)
        for (i, j), value in grid.items():
            if _is_number(value):
                image[j, i] = float(value)
        from matplotlib import colormaps

        colormap = colormaps[CONTINUOUS_COLORMAP].with_extremes(bad=_MISSING_GREY)
        shown = axes.imshow(np.ma.masked_invalid(image), origin="lower", aspect="auto", cmap=colormap)
        figure.colorbar(shown, ax=axes, label=metric)
        background = {cell: shown.cmap(shown.norm(image[cell[1], cell[0]]))[:3] for cell in grid}
    else:
        classes = list(dict.fromkeys(_label(value) for value in values))
        palette = class_palette(classes)
        from matplotlib.colors import to_rgb
        from matplotlib.patches import Patch

        image = np.ones((len(y_values), len(x_values), 3))
        background = {cell: to_rgb(palette[_label(value)]) for cell, value in grid.items()}
        for (i, j), colour in background.items():
            image[j, i] = colour
        axes.imshow(image, origin="lower", aspect="auto")
        axes.legend(
            handles=[Patch(color=palette[name], label=name) for name in classes],
            loc="upper left",
            bbox_to_anchor=(1.02, 1.0),
            frameon=False,
            title=metric,
        )
    for (i, j), value in grid.items():
        red, green, blue = background[(i, j)]
        dark = 0.2126 * red + 0.7152 * green + 0.0722 * blue < 0.45  # relative luminance (sRGB weights)
        axes.text(
            i, j, _cell_text(_label(value)), ha="center", va="center", fontsize=8, color="white" if dark else "black"
        )
    axes.set_xticks(range(len(x_values)), x_values)
    axes.set_yticks(range(len(y_values)), y_values)
    axes.set_xlabel(keys[0])
    axes.set_ylabel(keys[1])
    axes.set_title(f"{metric} over the sweep")
    return save_figure(figure, path, dpi)
