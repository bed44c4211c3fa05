"""The phase diagram of a sweep: one metric over the grid of one or two swept keys.

When the seed is swept too, its runs are repeats of one experiment: they are aggregated in
each cell (:func:`summarise_cell`) instead of becoming an axis: a categorical metric shows the
majority class with its share (``encoded 2/3``, the cell hatched when the seeds disagree), a
numeric one the mean ± the sample standard deviation over the seeds.

A categorical metric (a verdict such as ``encoded`` / ``not_encoded`` /
``provably_not_encodable``, a boolean, or ``failed`` for a point that did not finish) is drawn
as coloured classes in the Okabe-Ito palette with a legend; a numeric metric as a ``viridis``
heat map with a colour bar, failed or missing points in grey. Every cell carries its value as
text, so the figure reads without the colour. Same conventions as
:mod:`geokeras.report.figures` (explicit Agg canvas, matplotlib imported lazily).
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, Sequence

import numpy as np

from geokeras.report.figures import (
    CONTINUOUS_COLORMAP,
    OKABE_ITO,
    PathLike,
    new_figure,
    save_figure,
    wrap_title,
)

REPEAT_KEY = "seed"
"""The swept key whose values are repeats of one experiment, aggregated in each cell."""

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


def phase_axes(swept: Sequence[str], repeat_key: str = REPEAT_KEY) -> Optional[list[str]]:
    """The keys a sweep's phase diagram is drawn over (``swept``: the keys taking more than one
    value), or ``None`` when it has no diagram: the two swept keys; or, when ``repeat_key``
    (``seed``) is swept, the one or two other swept keys, the repeats aggregated per cell."""
    others = [key for key in swept if key != repeat_key]
    if repeat_key in swept:
        return others if 1 <= len(others) <= 2 else None
    return others if len(others) == 2 else None


@dataclass(frozen=True)
class CellSummary:
    """What one cell of the diagram shows, from the metric values of its repeats (seeds).

    Attributes:
        value: what the colour shows: the mean of a numeric metric, the majority class of a
            categorical one, or ``None`` (no number to show).
        text: what the cell says: the value alone for a single repeat; with repeats, the
            majority and its share (``encoded`` over ``2/3``) or the mean and the sample
            standard deviation (``0.12`` over ``±0.03``, and ``2/3`` when only 2 of 3 repeats
            gave a number).
        agreement: the share of repeats in the majority class (1.0 for numbers).
    """

    value: Any
    text: str
    agreement: float = 1.0


def summarise_cell(values: Sequence[Any], numeric: bool) -> CellSummary:
    """Aggregate the metric ``values`` of one cell's repeats (one per seed), in repeat order.

    Categorical (a verdict, a boolean, ``failed``): the most frequent class, a tie going to the
    class met first, with its share when the repeats disagree. Numeric: the mean of the finite
    numbers and their sample standard deviation s = sqrt(sum (v - mean)^2 / (n - 1)) when there
    are at least two; repeats that failed or reported nothing are left out, and the cell says
    how many gave a number. A cell without any number shows ``failed`` when a repeat failed.
    """
    if not values:
        raise ValueError("Expected at least one value per cell. Received: [].")
    count = len(values)
    if not numeric:
        labels = [_label(value) for value in values]
        majority, votes = Counter(labels).most_common(1)[0]
        text = _cell_text(majority) + ("" if votes == count else f"\n{votes}/{count}")
        return CellSummary(majority, text, votes / count)
    numbers = [float(value) for value in values if _is_number(value)]
    if not numbers:
        shown = "failed" if "failed" in values else "-"
        return CellSummary(None, shown)
    if count == 1:
        return CellSummary(numbers[0], _label(numbers[0]))
    mean = float(np.mean(numbers))
    text = f"{mean:.3g}"
    if len(numbers) > 1:
        text += f"\n±{float(np.std(numbers, ddof=1)):.2g}"
    if len(numbers) < count:
        text += f"\n{len(numbers)}/{count}"
    return CellSummary(mean, text)


def _is_numeric_metric(values: Sequence[Any]) -> bool:
    return any(map(_is_number, values)) and all(_is_number(value) or value in (None, "failed") for value in values)


def _default_title(metric: str, numeric: bool, repeats: int, repeat_key: str) -> str:
    if repeats <= 1:
        return f"{metric} over the sweep"
    if numeric:
        return f"{metric} over the sweep: mean ± sample standard deviation over {repeats} {repeat_key}s per cell"
    return f"{metric} over the sweep: majority of {repeats} {repeat_key}s per cell (with its share when they disagree)"


def phase_diagram_figure(
    cells: Sequence[tuple[Any, ...]],
    keys: Sequence[str],
    metric: str,
    *,
    title: Optional[str] = None,
    repeat_key: str = REPEAT_KEY,
) -> Any:
    """The figure of :func:`plot_phase_diagram` (a matplotlib Figure on the Agg canvas), unsaved."""
    if len(keys) not in (1, 2):
        raise ValueError(f"Expected one or two swept keys. Received: keys={list(keys)}.")
    if not cells:
        raise ValueError("Expected at least one grid point. Received: cells=[].")
    width = len(keys) + 1
    if any(len(cell) != width for cell in cells):
        raise ValueError(
            f"Expected each grid point as ({', '.join(keys)}, metric value). "
            f"Received: {next(cell for cell in cells if len(cell) != width)!r}."
        )
    x_values = list(dict.fromkeys(cell[0] for cell in cells))
    y_values = list(dict.fromkeys(cell[1] for cell in cells)) if len(keys) == 2 else [None]
    groups: dict[tuple[int, int], list[Any]] = {}
    for cell in cells:
        position = (x_values.index(cell[0]), y_values.index(cell[1]) if len(keys) == 2 else 0)
        groups.setdefault(position, []).append(cell[-1])
    numeric = _is_numeric_metric([cell[-1] for cell in cells])
    grid = {position: summarise_cell(values, numeric) for position, values in groups.items()}
    repeats = max(len(values) for values in groups.values())

    figure_width = 2.2 + 1.1 * len(x_values)
    heading = wrap_title(title or _default_title(metric, numeric, repeats, repeat_key), figure_width - 0.3)
    figure_height = 1.6 + 0.7 * len(y_values) + 0.22 * heading.count("\n")
    figure = new_figure((figure_width, figure_height))
    axes = figure.add_subplot(1, 1, 1)
    if numeric:
        image = np.full((len(y_values), len(x_values)), np.nan)
        for (i, j), summary in grid.items():
            if summary.value is not None:
                image[j, i] = summary.value
        from matplotlib import colormaps

        colormap = colormaps[CONTINUOUS_COLORMAP].with_extremes(bad=_MISSING_GREY)
        shown = axes.imshow(np.ma.masked_invalid(image), origin="lower", aspect="auto", cmap=colormap)
        figure.colorbar(shown, ax=axes, label=wrap_title(metric, figure_height - 0.6, 10.0))
        background = {cell: shown.cmap(shown.norm(image[cell[1], cell[0]]))[:3] for cell in grid}
    else:
        classes = list(dict.fromkeys(summary.value for summary in grid.values()))
        palette = class_palette(classes)
        from matplotlib.colors import to_rgb
        from matplotlib.patches import Patch, Rectangle

        image = np.ones((len(y_values), len(x_values), 3))
        background = {cell: to_rgb(palette[summary.value]) for cell, summary in grid.items()}
        for (i, j), colour in background.items():
            image[j, i] = colour
        axes.imshow(image, origin="lower", aspect="auto")
        handles = [Patch(color=palette[name], label=name) for name in classes]
        split = [cell for cell, summary in grid.items() if summary.agreement < 1.0]
        for i, j in split:
            axes.add_patch(Rectangle((i - 0.5, j - 0.5), 1, 1, fill=False, hatch="//", edgecolor="white", linewidth=0))
        if split:
            handles.append(Patch(facecolor="#777777", edgecolor="white", hatch="//", label=f"{repeat_key}s disagree"))
        axes.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.02, 1.0), frameon=False, title=metric)
    for (i, j), summary in grid.items():
        red, green, blue = background[(i, j)]
        dark = 0.2126 * red + 0.7152 * green + 0.0722 * blue < 0.45  # relative luminance (sRGB weights)
        axes.text(i, j, summary.text, ha="center", va="center", fontsize=8, color="white" if dark else "black")
    x_labels = [str(value) for value in x_values]
    # Values wider than their cell (about 8 characters at 1.1 inch) are slanted instead of overlapping.
    slanted = max(map(len, x_labels)) > 8
    axes.set_xticks(range(len(x_values)), x_labels, rotation=30 if slanted else 0, ha="right" if slanted else "center")
    axes.set_xlabel(keys[0])
    if len(keys) == 2:
        axes.set_yticks(range(len(y_values)), [str(value) for value in y_values])
        axes.set_ylabel(keys[1])
    else:
        axes.set_yticks([])
    figure.suptitle(heading)  # centred on the figure, whose width it was wrapped to
    return figure


def plot_phase_diagram(
    cells: Sequence[tuple[Any, ...]],
    keys: Sequence[str],
    metric: str,
    path: PathLike,
    dpi: int = 110,
    *,
    title: Optional[str] = None,
    repeat_key: str = REPEAT_KEY,
) -> Path:
    """Draw ``metric`` over the grid of one or two swept keys, repeats aggregated per cell.

    Args:
        cells: ``(value of keys[0], [value of keys[1],] metric value)`` per run; the axes keep
            the order in which each value first appears. Runs at the same grid point (one per
            value of ``repeat_key``, the seed) are aggregated by :func:`summarise_cell`: the
            majority class with its share, or the mean ± the sample standard deviation.
        keys: the swept keys drawn (x axis, and y axis for two); one key draws one row.
        metric: the metric's name, for the title and the colour bar or legend.
        path: the figure to write (.png, .svg or .pdf).
        title: the figure's title (wrapped to the figure's width); default: the metric and
            how repeats were aggregated.
        repeat_key: what the repeats are (named in the default title and the legend).

    Returns:
        ``path``.
    """
    figure = phase_diagram_figure(cells, keys, metric, title=title, repeat_key=repeat_key)
    return save_figure(figure, path, dpi)
