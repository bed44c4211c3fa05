"""Figures of a run: training curves, data vs reconstruction, latent codes, the manifold.

Every function writes one PNG and returns its path. Figures are drawn on an explicit Agg
canvas (``matplotlib.figure.Figure`` + ``FigureCanvasAgg``), never through ``pyplot``: no
global backend is switched, no window opens, nothing leaks between figures, and it works on
machines without a display. matplotlib is imported inside the functions, so importing
``geokeras.report`` does not import it.

Conventions: labelled axes and titles; continuous values (the manifold parameter) in
``viridis``; categorical lines in the Okabe-Ito palette (Okabe & Ito 2008, *Color Universal
Design*), both readable with the common colour-vision deficiencies. Scatter plots show at
most ``max_points`` points, a subsample drawn without replacement by a seeded
``Generator(PCG64(seed))``. Data of more than 3 dimensions is shown through its first 3
principal components (scikit-learn's ``PCA`` fitted on the data shown), and the title says so.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Optional, Union

import numpy as np

from geokeras.manifolds.base import check_count, check_seed

OKABE_ITO = (
    "#0072B2",  # blue
    "#D55E00",  # vermillion
    "#009E73",  # bluish green
    "#E69F00",  # orange
    "#CC79A7",  # reddish purple
    "#56B4E9",  # sky blue
    "#F0E442",  # yellow
    "#000000",  # black
)
"""The Okabe-Ito colour-blind-safe palette, in the order lines are drawn."""

CONTINUOUS_COLORMAP = "viridis"

PathLike = Union[str, Path]

SINGLE_FIGSIZE = (6.4, 4.8)
"""Size in inches of a one-panel figure."""
DOUBLE_FIGSIZE = (11.0, 4.8)
"""Size in inches of a two-panel figure."""
_POINT_SIZE = 6.0


# ----------------------------------------------------------------- helpers (shared by every package's figures)
def new_figure(figsize: tuple[float, float]) -> Any:
    """A matplotlib Figure with a constrained layout on the Agg canvas (no GUI backend, no pyplot state)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=figsize, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


FIGURE_FORMATS = ("png", "svg", "pdf")
"""The file types a figure is saved as, chosen by the path's suffix (``report.format``)."""


def save_figure(figure: Any, path: PathLike, dpi: int) -> Path:
    """Write ``figure`` at ``path`` (parents created) as PNG, SVG or PDF, by the path's suffix."""
    dpi = check_count("dpi", dpi)
    path = Path(path)
    kind = path.suffix.lower().lstrip(".")
    if kind not in FIGURE_FORMATS:
        raise ValueError(f"Expected a path ending in .png, .svg or .pdf. Received: path={str(path)!r}.")
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=dpi, format=kind)
    return path


def _points(name: str, value: Any, min_dim: int = 1) -> np.ndarray:
    array = np.asarray(value, dtype=np.float64)
    if array.ndim == 1:
        array = array[:, None]
    if array.ndim != 2 or array.shape[0] == 0 or array.shape[1] < min_dim:
        raise ValueError(
            f"Expected `{name}` of shape [n, dim] with n >= 1 and dim >= {min_dim}. "
            f"Received: shape={list(np.shape(value))}."
        )
    return array


def _parameters(parameters: Any, count: int) -> Optional[np.ndarray]:
    if parameters is None:
        return None
    array = _points("parameters", parameters)
    if array.shape[0] != count:
        raise ValueError(
            f"Expected one row of `parameters` per point ({count}). Received: parameters.shape={list(array.shape)}."
        )
    return array


def subsample_indices(count: int, max_points: int, seed: int) -> np.ndarray:
    """Indices of at most ``max_points`` of ``count`` points, seeded, in increasing order."""
    max_points = check_count("max_points", max_points)
    if count <= max_points:
        return np.arange(count)
    rng = np.random.Generator(np.random.PCG64(check_seed(seed)))
    return np.sort(rng.choice(count, size=max_points, replace=False))


def projection_for(reference: np.ndarray) -> tuple[Any, str]:
    """A map to at most 3 coordinates, fitted on ``reference``, and words saying which."""
    dim = reference.shape[1]
    if dim <= 3:
        return (lambda points: points), ""
    from sklearn.decomposition import PCA

    # Exact SVD (deterministic; signs fixed by scikit-learn's svd_flip). Fewer than 3 points
    # or non-finite rows cannot be fitted: centre only and keep the first coordinates.
    finite = reference[np.all(np.isfinite(reference), axis=1)]
    if finite.shape[0] < 3:
        return (lambda points: points[:, :3] - (finite.mean(axis=0)[:3] if finite.size else 0.0)), (
            f" (first 3 coordinates; ambient dim {dim})"
        )
    pca = PCA(n_components=3, svd_solver="full").fit(finite)
    mean, components = pca.mean_, pca.components_.T  # shape=[dim], [dim, 3]
    words = f" (first 3 principal components of the data; ambient dim {dim})"
    # Not pca.transform: it refuses NaN, and a diverged reconstruction may hold some.
    return (lambda points: (points - mean) @ components), words


def _colour_label(parameters: Optional[np.ndarray], parameter_label: Optional[str]) -> str:
    if parameters is None:
        return ""
    if parameter_label:
        return parameter_label
    if parameters.shape[1] == 1:
        return "manifold parameter"
    return f"manifold parameter 1 of {parameters.shape[1]}"


def _scatter(axes: Any, coords: np.ndarray, colours: Optional[np.ndarray], limits: Any = None, **keys: Any) -> Any:
    """Scatter 1-3 coordinates on ``axes`` (a 3-D axes for 3), coloured by ``colours``."""
    style: dict[str, Any] = {"s": _POINT_SIZE, "linewidths": 0}
    if colours is None:
        style["color"] = keys.pop("color", OKABE_ITO[0])
    else:
        style.update(c=colours, cmap=CONTINUOUS_COLORMAP, vmin=np.nanmin(colours), vmax=np.nanmax(colours))
    style.update(keys)
    dim = coords.shape[1]
    if dim == 3:
        artist = axes.scatter(coords[:, 0], coords[:, 1], coords[:, 2], depthshade=False, **style)
        axes.set_xlabel("x1")
        axes.set_ylabel("x2")
        axes.set_zlabel("x3")
    else:
        artist = axes.scatter(coords[:, 0], coords[:, 1], **style)
        axes.set_xlabel("x1")
        axes.set_ylabel("x2")
        axes.set_aspect("equal", adjustable="datalim" if limits is None else "box")
    if limits is not None:
        for setter, (low, high) in zip(("set_xlim", "set_ylim", "set_zlim"), limits):
            getattr(axes, setter)(low, high)
    if dim == 3:
        # Equal units on the three axes (a flat set looks flat), but never thinner than a
        # tenth of the box so that its spread stays visible.
        getters = (axes.get_xlim, axes.get_ylim, axes.get_zlim)
        spans = np.array([high - low for low, high in (getter() for getter in getters)])
        aspect = np.maximum(spans / spans.max(), 0.1)
        axes.set_box_aspect(aspect)
        from matplotlib.ticker import MaxNLocator

        for axis, ratio in zip((axes.xaxis, axes.yaxis, axes.zaxis), aspect):
            axis.set_major_locator(MaxNLocator(nbins=max(2, int(round(5 * ratio)))))
    return artist


def shared_limits(*point_sets: np.ndarray) -> list[tuple[float, float]]:
    """Per-coordinate axis limits covering the finite points of every set, padded by 5% of the range."""
    stacked = np.concatenate([points[np.all(np.isfinite(points), axis=1)] for points in point_sets])
    if stacked.size == 0:
        return [(-1.0, 1.0)] * point_sets[0].shape[1]
    low, high = stacked.min(axis=0), stacked.max(axis=0)
    pad = 0.05 * np.maximum(high - low, 1e-12)
    return list(zip(low - pad, high + pad))


# ----------------------------------------------------------------- figures
def plot_training_curves(history: Mapping[str, Sequence[float]], path: PathLike, dpi: int = 110) -> Path:
    """The loss per epoch (and every other ``*loss`` series, e.g. ``val_loss``), log y-scale.

    Args:
        history: ``keras.callbacks.History.history``: ``{"loss": [per epoch], ...}``; must
            contain ``"loss"``. Series not ending in ``loss`` are not drawn.
        path: the PNG to write.
        dpi: resolution.

    The y-axis is logarithmic unless some loss is <= 0 (then linear, and the title says so).
    """
    if "loss" not in history:
        raise ValueError(f"Expected a history with a 'loss' series. Received keys: {sorted(history)}.")
    names = ["loss"] + sorted(key for key in history if key.endswith("loss") and key != "loss")
    series = {name: np.asarray(history[name], dtype=np.float64).ravel() for name in names}
    if series["loss"].size == 0:
        raise ValueError("Expected at least one epoch in history['loss']. Received an empty list.")
    figure = new_figure(SINGLE_FIGSIZE)
    axes = figure.add_subplot()
    for colour, (name, values) in zip(OKABE_ITO, series.items()):
        epochs = np.arange(1, values.size + 1)
        marker = "o" if values.size <= 30 else None
        axes.plot(epochs, values, color=colour, label=name, marker=marker, markersize=3)
    finite = np.concatenate([values[np.isfinite(values)] for values in series.values()])
    log_scale = finite.size > 0 and bool(np.all(finite > 0))
    if log_scale:
        axes.set_yscale("log")
    axes.set_xlabel("epoch")
    axes.set_ylabel("loss" + (" (log scale)" if log_scale else ""))
    axes.set_title("Training loss" + ("" if log_scale else " (linear scale: some loss <= 0)"))
    axes.grid(True, which="both", alpha=0.3)
    axes.legend()
    return save_figure(figure, path, dpi)


def plot_reconstruction(
    x: Any,
    x_hat: Any,
    parameters: Any,
    path: PathLike,
    dpi: int = 110,
    max_points: int = 4000,
    *,
    seed: int = 0,
    parameter_label: Optional[str] = None,
) -> Path:
    """Data X beside its reconstruction X^ = psi(phi(X)), both coloured by the parameter.

    Args:
        x: the data, shape=[n, D].
        x_hat: the reconstruction, shape=[n, D].
        parameters: the manifold parameters of x, shape=[n, k] (colour: first column), or None.
        path: the PNG to write.
        dpi: resolution.
        max_points: points drawn at most (the same subsample in both panels).
        seed: seeds the subsample.
        parameter_label: names the colour scale (e.g. ``"theta"``).

    D = 1: value against the parameter (or the sample index), data and reconstruction
    overlaid. D = 2 or 3: two panels on the same axis limits. D > 3: both projected onto the
    first 3 principal components of the data.
    """
    x = _points("x", x)
    x_hat = _points("x_hat", x_hat)
    if x_hat.shape != x.shape:
        raise ValueError(
            f"Expected x and x_hat of the same shape. Received: x.shape={list(x.shape)}, "
            f"x_hat.shape={list(x_hat.shape)}."
        )
    parameters = _parameters(parameters, x.shape[0])
    keep = subsample_indices(x.shape[0], max_points, seed)
    x, x_hat = x[keep], x_hat[keep]
    parameters = None if parameters is None else parameters[keep]
    colours = None if parameters is None else parameters[:, 0]
    label = _colour_label(parameters, parameter_label)

    if x.shape[1] == 1:
        figure = new_figure(SINGLE_FIGSIZE)
        axes = figure.add_subplot()
        abscissa = np.arange(x.shape[0]) if colours is None else colours
        for values, colour, name in ((x, OKABE_ITO[0], "data"), (x_hat, OKABE_ITO[1], "reconstruction")):
            axes.scatter(abscissa, values[:, 0], s=_POINT_SIZE, color=colour, label=name, linewidths=0)
        axes.set_xlabel(label or "sample index")
        axes.set_ylabel("x1")
        axes.legend(markerscale=2)
        axes.set_title("Data vs reconstruction")
        return save_figure(figure, path, dpi)

    project, words = projection_for(x)
    data, recon = project(x), project(x_hat)
    projection = "3d" if data.shape[1] == 3 else None
    limits = shared_limits(data, recon)
    figure = new_figure(DOUBLE_FIGSIZE)
    artist = None
    for index, (points, title) in enumerate(((data, "data"), (recon, "reconstruction"))):
        axes = figure.add_subplot(1, 2, index + 1, projection=projection)
        artist = _scatter(axes, points, colours, limits)
        axes.set_title(title)
        if words:
            axes.set_xlabel("PC1")
            axes.set_ylabel("PC2")
            axes.set_zlabel("PC3")
    if colours is not None:
        figure.colorbar(artist, ax=figure.axes, label=label, shrink=0.8)
    figure.suptitle(f"Data vs reconstruction{words or ' (ambient coordinates)'}")
    return save_figure(figure, path, dpi)


def plot_latent_codes(
    codes: Any,
    parameters: Any,
    path: PathLike,
    dpi: int = 110,
    max_points: int = 4000,
    *,
    seed: int = 0,
    parameter_label: Optional[str] = None,
) -> Path:
    """The latent codes phi(x), against or coloured by the manifold parameter of x.

    Args:
        codes: shape=[n, latent_dim].
        parameters: shape=[n, k] (first column used), or None.

    latent_dim = 1: the code against the parameter (a monotone graph for a curve encoded
    homeomorphically onto an interval; a histogram of the codes without parameters).
    latent_dim = 2: a scatter coloured by the parameter. latent_dim > 2: the first two
    coordinates, and the title says so.
    """
    codes = _points("codes", codes)
    parameters = _parameters(parameters, codes.shape[0])
    keep = subsample_indices(codes.shape[0], max_points, seed)
    codes = codes[keep]
    parameters = None if parameters is None else parameters[keep]
    label = _colour_label(parameters, parameter_label)
    latent_dim = codes.shape[1]
    figure = new_figure(SINGLE_FIGSIZE)
    axes = figure.add_subplot()
    if latent_dim == 1:
        if parameters is None:
            axes.hist(codes[:, 0], bins=min(60, max(10, codes.shape[0] // 20)), color=OKABE_ITO[0])
            axes.set_xlabel("latent code z1")
            axes.set_ylabel("count")
            axes.set_title("Latent codes (1-D): histogram")
        else:
            axes.scatter(parameters[:, 0], codes[:, 0], s=_POINT_SIZE, color=OKABE_ITO[0], linewidths=0)
            axes.set_xlabel(label)
            axes.set_ylabel("latent code z1")
            axes.set_title("Latent code vs manifold parameter")
        axes.grid(True, alpha=0.3)
        return save_figure(figure, path, dpi)
    colours = None if parameters is None else parameters[:, 0]
    artist = _scatter(axes, codes[:, :2], colours)
    axes.set_xlabel("latent code z1")
    axes.set_ylabel("latent code z2")
    title = "Latent codes" if latent_dim == 2 else f"Latent codes: first 2 of {latent_dim} coordinates"
    axes.set_title(title)
    if colours is not None:
        figure.colorbar(artist, ax=axes, label=label)
    return save_figure(figure, path, dpi)


def plot_manifold(
    points: Any,
    parameters: Any,
    path: PathLike,
    dpi: int = 110,
    max_points: int = 4000,
    *,
    seed: int = 0,
    parameter_label: Optional[str] = None,
    title: str = "Data",
) -> Path:
    """The data points coloured by the manifold parameter.

    Args:
        points: shape=[n, D]. D = 1: value against the parameter (or a histogram);
            D = 2, 3: a scatter; D > 3: the first 3 principal components (title says so).
        parameters: shape=[n, k]: the colour is the first column (a curve's t, a surface's
            first coordinate, a data set's label), on the ``viridis`` scale; or None.
        path: the PNG to write.
        max_points: points drawn at most (a seeded subsample, ``seed``).
        parameter_label: names the colour scale (e.g. ``"theta"``).
        title: the figure's title (a projection note goes on a second line).

    Images (shape=[n, H, W, C]) are refused: draw them with :func:`plot_image_grid`.
    """
    if np.ndim(points) > 2:
        raise ValueError(
            f"Expected `points` of shape [n, dim]. Received: shape={list(np.shape(points))}, "
            f"which looks like images: draw them with plot_image_grid, or flatten them."
        )
    points = _points("points", points)
    parameters = _parameters(parameters, points.shape[0])
    keep = subsample_indices(points.shape[0], max_points, seed)
    points = points[keep]
    parameters = None if parameters is None else parameters[keep]
    colours = None if parameters is None else parameters[:, 0]
    label = _colour_label(parameters, parameter_label)
    figure = new_figure(SINGLE_FIGSIZE)
    if points.shape[1] == 1:
        axes = figure.add_subplot()
        if colours is None:
            axes.hist(points[:, 0], bins=min(60, max(10, points.shape[0] // 20)), color=OKABE_ITO[0])
            axes.set_xlabel("x1")
            axes.set_ylabel("count")
        else:
            axes.scatter(colours, points[:, 0], s=_POINT_SIZE, color=OKABE_ITO[0], linewidths=0)
            axes.set_xlabel(label)
            axes.set_ylabel("x1")
        axes.set_title(f"{title} (1-D)")
        return save_figure(figure, path, dpi)
    project, words = projection_for(points)
    coords = project(points)
    axes = figure.add_subplot(projection="3d" if coords.shape[1] == 3 else None)
    artist = _scatter(axes, coords, colours)
    if words:
        axes.set_xlabel("PC1")
        axes.set_ylabel("PC2")
        axes.set_zlabel("PC3")
    # The projection note on its own line: one line would run past a 6.4-inch figure.
    axes.set_title(f"{title}\n{words.strip()}" if words else title)
    if colours is not None:
        # A 3-D axes puts its z label where the colour bar would sit: leave it room.
        figure.colorbar(artist, ax=axes, label=label, shrink=0.8, pad=0.12 if coords.shape[1] == 3 else 0.05)
    return save_figure(figure, path, dpi)


def _image_stack(name: str, value: Any, image_shape: Optional[Sequence[int]]) -> np.ndarray:
    """``value`` as float64 images shape=[n, H, W, C]."""
    array = np.asarray(value, dtype=np.float64)
    if image_shape is not None:
        shape = tuple(int(size) for size in image_shape)
        if len(shape) == 2:
            shape = (*shape, 1)
        if len(shape) != 3 or array.ndim < 2 or int(np.prod(array.shape[1:])) != int(np.prod(shape)):
            raise ValueError(
                f"Expected `{name}` with {int(np.prod(shape))} values per image (image_shape="
                f"{list(image_shape)}). Received: shape={list(array.shape)}."
            )
        array = array.reshape(array.shape[0], *shape)
    elif array.ndim == 3:
        array = array[..., None]
    if array.ndim != 4 or array.shape[0] == 0:
        raise ValueError(
            f"Expected `{name}` of shape [n, H, W, C] or [n, H, W] with n >= 1 (or flat images "
            f"with image_shape). Received: shape={list(np.shape(value))}."
        )
    return array


def image_mosaic(images: np.ndarray, rows: int, columns: int, fill: float) -> np.ndarray:
    """Tile images shape=[k, H, W, C] into one array [rows (H+1) - 1, columns (W+1) - 1, C].

    Tiles are separated by one pixel of ``fill``; empty tiles are ``fill`` (vectorised: a
    pad, a reshape and a transpose, no loop over images).
    """
    count, height, width, channels = images.shape
    padded = np.full((rows * columns, height + 1, width + 1, channels), fill)
    padded[:count, :height, :width] = images
    grid = padded.reshape(rows, columns, height + 1, width + 1, channels).transpose(0, 2, 1, 3, 4)
    return grid.reshape(rows * (height + 1), columns * (width + 1), channels)[:-1, :-1]


def plot_image_grid(
    images: Any,
    path: PathLike,
    dpi: int = 110,
    *,
    reconstructions: Any = None,
    labels: Any = None,
    image_shape: Optional[Sequence[int]] = None,
    max_images: int = 64,
    title: str = "Images",
) -> Path:
    """A grid of images, and beside it the same grid of their reconstructions.

    Args:
        images: shape=[n, H, W, C], [n, H, W], or flat [n, H*W*C] with ``image_shape``.
        path: the PNG to write.
        dpi: resolution.
        reconstructions: psi(phi(images)), same shape as ``images``, or None (one panel).
        labels: shape=[n] (e.g. class labels), written in the corner of each data tile, or None.
        image_shape: (H, W, C) or (H, W) for flat images.
        max_images: the first ``max_images`` images are drawn (the caller picks which).
        title: the figure's title.

    Grey-scale images use the ``gray_r`` map (ink dark on white, readable with every colour
    vision), one shared value range for both panels (that of the data: reconstructions
    outside it are clipped to it); RGB images (C = 3) are shown in colour, clipped to that
    range; other channel counts show channel 1. Tiles are laid out in a near-square grid.
    """
    stack = _image_stack("images", images, image_shape)
    max_images = check_count("max_images", max_images)
    count = min(stack.shape[0], max_images)
    stack = stack[:count]
    panels = [("data", stack)]
    if reconstructions is not None:
        recon = _image_stack("reconstructions", reconstructions, image_shape)
        if recon.shape[1:] != stack.shape[1:] or recon.shape[0] < count:
            raise ValueError(
                f"Expected reconstructions of the same shape as the images. Received: "
                f"images.shape={list(np.shape(images))}, reconstructions.shape="
                f"{list(np.shape(reconstructions))}."
            )
        panels.append(("reconstruction", recon[:count]))
    shown_labels = None
    if labels is not None:
        shown_labels = np.asarray(labels).reshape(-1)
        if shown_labels.shape[0] < count:
            raise ValueError(f"Expected one label per image ({count}). Received: {shown_labels.shape[0]} labels.")
        shown_labels = shown_labels[:count]

    finite = stack[np.isfinite(stack)]
    low, high = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    if high <= low:
        high = low + 1.0
    columns = int(np.ceil(np.sqrt(count)))
    rows = int(np.ceil(count / columns))
    height, width, channels = stack.shape[1:]
    rgb = channels == 3

    figure = new_figure((5.2 * len(panels), 5.2 * rows / columns + 0.8))
    for index, (name, panel) in enumerate(panels):
        axes = figure.add_subplot(1, len(panels), index + 1)
        values = np.clip(np.nan_to_num(panel, nan=low), low, high)
        if rgb:
            mosaic = image_mosaic((values - low) / (high - low), rows, columns, fill=1.0)
            axes.imshow(mosaic, interpolation="nearest")
        else:
            mosaic = image_mosaic(values[..., :1], rows, columns, fill=np.nan)[..., 0]
            import matplotlib

            colormap = matplotlib.colormaps["gray_r"].with_extremes(bad=OKABE_ITO[5])
            axes.imshow(mosaic, cmap=colormap, vmin=low, vmax=high, interpolation="nearest")
        if name == "data" and shown_labels is not None:
            for tile, label in enumerate(shown_labels):  # at most max_images annotations
                row, column = divmod(tile, columns)
                text = f"{label:g}" if isinstance(label, (float, np.floating)) else str(label)
                axes.text(
                    column * (width + 1),
                    row * (height + 1),
                    text,
                    color=OKABE_ITO[1],
                    fontsize=max(5.0, 60.0 / columns),
                    va="top",
                    ha="left",
                )
        axes.set_xticks([])
        axes.set_yticks([])
        axes.set_title(f"{name} ({count} images, {height}x{width}x{channels})")
    figure.suptitle(title)
    return save_figure(figure, path, dpi)
